package dev.lanes.benchmarks;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class WorkloadsAndRoundsTest {

    @Test
    void everyWorkloadHasAUniqueNameAndTopic() {
        assertThat(Workload.names()).containsExactly("raw100", "raw1k", "json256-lz4", "json256-zstd",
                "json256-snappy", "json256-gzip", "json1k-lz4", "json1k-zstd", "json1k-snappy", "json1k-gzip");
        assertThat(Workload.ALL).extracting(Workload::topic).doesNotHaveDuplicates();
        assertThat(Workload.named("raw100").topic()).isEqualTo(ConsumerBenchmark.TOPIC_100);
        assertThat(Workload.named("raw1k").topic()).isEqualTo(ConsumerBenchmark.TOPIC_1K);
        // A default round reads every record of its topic once, never seeking back in the middle.
        assertThat(Workload.ALL).allSatisfy(w -> assertThat(w.recordsPerRound()).isEqualTo(w.datasetRecords()));
    }

    @Test
    void partitionSharesAddUpToTheDataSet() {
        Workload workload = Workload.named("json256-zstd").withRecordsPerRound(1_003);
        long total = 0;
        for (int p = 0; p < 6; p++) {
            total += workload.recordsIn(p, 6);
        }
        assertThat(total).isEqualTo(1_003);
        assertThat(workload.recordsIn(0, 6)).isEqualTo(168);
        assertThat(workload.recordsIn(5, 6)).isEqualTo(167);
    }

    @Test
    void firstRoundsPutEveryConsumerInEveryPosition() {
        List<String> kinds = List.of("lanes", "classic", "async");
        assertThat(RoundOrder.of(kinds, 0)).containsExactly("lanes", "classic", "async");
        for (int position = 0; position < 3; position++) {
            List<String> atPosition = new ArrayList<>();
            for (int round = 0; round < 3; round++) {
                atPosition.add(RoundOrder.of(kinds, round).get(position));
            }
            assertThat(atPosition).containsExactlyInAnyOrderElementsOf(kinds);
        }
    }

    @Test
    void noConsumerAlwaysFollowsTheSameOne() {
        List<String> kinds = List.of("lanes", "classic", "async");
        Map<String, Integer> followers = new HashMap<>();
        for (int round = 0; round < 6; round++) {
            List<String> order = RoundOrder.of(kinds, round);
            assertThat(order).containsExactlyInAnyOrderElementsOf(kinds);
            for (int i = 1; i < order.size(); i++) {
                followers.merge(order.get(i - 1) + ">" + order.get(i), 1, Integer::sum);
            }
        }
        // Six ordered pairs, each twice over six rounds.
        assertThat(followers).hasSize(6).allSatisfy((pair, count) -> assertThat(count).isEqualTo(2));
        assertThat(RoundOrder.of(kinds, 6)).isEqualTo(RoundOrder.of(kinds, 0));
        assertThat(RoundOrder.of(List.of("only"), 3)).containsExactly("only");
    }
}
