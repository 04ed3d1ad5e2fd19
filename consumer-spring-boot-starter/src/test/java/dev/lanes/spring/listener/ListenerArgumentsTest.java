package dev.lanes.spring.listener;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.springframework.core.MethodParameter;
import org.springframework.messaging.Message;
import org.springframework.messaging.MessageHeaders;
import org.springframework.messaging.converter.MessageConversionException;
import org.springframework.messaging.converter.SmartMessageConverter;
import org.springframework.messaging.handler.annotation.Header;
import org.springframework.messaging.handler.invocation.MethodArgumentResolutionException;

import java.lang.reflect.Method;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ListenerArgumentsTest {

    record Amount(long cents) {
    }

    static class Methods {
        void amount(Amount amount) {
        }

        void required(String value, @Header("needed") String needed) {
        }

        void batchWithHeader(List<ConsumerRecord<String, String>> batch, @Header("x") String x) {
        }

        void number(Integer value) {
        }

        void batchWithHeaderLists(List<ConsumerRecord<String, String>> batch,
                                  @Header(dev.lanes.spring.LanesHeaders.RECEIVED_PARTITION) List<Integer> partitions,
                                  @Header(name = "attempt", required = false) List<Integer> attempts,
                                  @org.springframework.messaging.handler.annotation.Headers List<java.util.Map<String, Object>> headers) {
        }

        void text(String value) {
        }
    }

    private static Method method(String name) {
        for (Method method : Methods.class.getDeclaredMethods()) {
            if (method.getName().equals(name)) {
                return method;
            }
        }
        throw new AssertionError(name);
    }

    @Test
    void aSmartMessageConverterBeanGetsTheParameterAsItsHint() {
        ListenerArguments arguments = ListenerArguments.of(method("amount"));
        List<Object> hints = new java.util.ArrayList<>();
        arguments.setConverter(() -> new SmartMessageConverter() {
            @Override
            public Object fromMessage(Message<?> message, Class<?> targetClass, Object conversionHint) {
                hints.add(conversionHint);
                return new Amount(Long.parseLong(message.getPayload().toString().replace("$", "")) * 100);
            }

            @Override
            public Object fromMessage(Message<?> message, Class<?> targetClass) {
                throw new AssertionError("the smart variant is expected");
            }

            @Override
            public Message<?> toMessage(Object payload, MessageHeaders headers, Object conversionHint) {
                return null;
            }

            @Override
            public Message<?> toMessage(Object payload, MessageHeaders headers) {
                return null;
            }
        });
        Object[] values = arguments.forRecord(new ConsumerRecord<>("t", 0, 0, "k", "$12"), "g", null, null);
        assertThat(values).containsExactly(new Amount(1200));
        assertThat(hints).singleElement().isInstanceOfSatisfying(MethodParameter.class,
                parameter -> assertThat(parameter.getParameterType()).isEqualTo(Amount.class));
    }

    @Test
    void withoutAConverterAValueThatIsNotOfTheParameterTypeFailsWithAConversionError() {
        ListenerArguments arguments = ListenerArguments.of(method("amount"));
        assertThatThrownBy(() -> arguments.forRecord(new ConsumerRecord<>("t", 0, 7, "k", "$12"), "g", null, null))
                .isInstanceOf(MessageConversionException.class)
                .hasMessageContaining("t-0 offset 7")
                .hasMessageContaining("no MessageConverter");
        // Simple conversions need no converter.
        assertThat(ListenerArguments.of(method("number")).forRecord(new ConsumerRecord<>("t", 0, 0, "k", "42"), "g", null, null))
                .containsExactly(42);
    }

    @Test
    void bytesAreReadAsUtf8TextAndNeverAsTheirFirstElement() {
        assertThat(ListenerArguments.of(method("text")).forRecord(
                new ConsumerRecord<>("t", 0, 0, "k", "héllo".getBytes(java.nio.charset.StandardCharsets.UTF_8)), "g", null, null))
                .containsExactly("héllo");
        assertThatThrownBy(() -> ListenerArguments.of(method("number")).forRecord(
                new ConsumerRecord<>("t", 0, 0, "k", new byte[] {4, 2}), "g", null, null))
                .isInstanceOf(MessageConversionException.class);
    }

    @Test
    void aMissingRequiredHeaderIsAnArgumentResolutionFailure() {
        ListenerArguments arguments = ListenerArguments.of(method("required"));
        Throwable failure = org.assertj.core.api.Assertions.catchThrowable(() ->
                arguments.forRecord(new ConsumerRecord<>("t", 0, 3, "k", "v"), "g", null, null));
        assertThat(failure).isInstanceOf(MethodArgumentResolutionException.class)
                .hasMessageContaining("Missing header 'needed'");
        assertThat(new DefaultLanesErrorHandler(0, java.time.Duration.ZERO, null).isRetryable(failure)).isFalse();
    }

    @Test
    void aBatchListenerTakesListsOfHeadersOnePerRecord() {
        assertThatThrownBy(() -> ListenerArguments.of(method("batchWithHeader")))
                .hasMessageContaining("in a batch listener, @Header and @Headers parameters are Lists");
        ConsumerRecord<String, String> first = new ConsumerRecord<>("t", 3, 10, "k", "v");
        first.headers().add("attempt", "2".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        ConsumerRecord<String, String> second = new ConsumerRecord<>("t", 4, 11, "k", "v");
        Object[] arguments = ListenerArguments.of(method("batchWithHeaderLists"))
                .forBatch(List.of(first, second), null, "g", null, null);
        assertThat(arguments[1]).isEqualTo(List.of(3, 4));
        assertThat(arguments[2]).isEqualTo(java.util.Arrays.asList(2, null));
        assertThat((List<?>) arguments[3]).hasSize(2).allSatisfy(headers ->
                assertThat(((java.util.Map<?, ?>) headers).get(dev.lanes.spring.LanesHeaders.GROUP_ID)).isEqualTo("g"));
    }
}
