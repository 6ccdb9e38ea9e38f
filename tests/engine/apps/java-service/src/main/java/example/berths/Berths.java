package example.berths;

import java.util.List;
import java.util.stream.Collectors;

/** The harbour's berths and which are free. */
final class Berths {
    private Berths() {}

    record Berth(String name, boolean free) {}

    static final List<Berth> ALL = List.of(
            new Berth("A1", true), new Berth("A2", false), new Berth("B1", true));

    static String freeAsJson() {
        return ALL.stream().filter(Berth::free).map(b -> "\"" + b.name() + "\"")
                .collect(Collectors.joining(",", "{\"free\":[", "]}"));
    }
}
