package dev.lanes.spring.listener;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.messaging.converter.JacksonJsonMessageConverter;
import org.springframework.messaging.converter.MessageConverter;
import tools.jackson.databind.json.JsonMapper;

/** The JSON converter of listener payloads; a class of its own so that nothing loads Jackson when it is absent. */
final class JacksonConverter {

    private JacksonConverter() {
    }

    /** A Jackson converter with the application's JsonMapper bean when there is one. */
    static MessageConverter create(BeanFactory beanFactory) {
        JsonMapper mapper = beanFactory.getBeanProvider(JsonMapper.class).getIfUnique();
        return mapper == null ? new JacksonJsonMessageConverter() : new JacksonJsonMessageConverter(mapper);
    }
}
