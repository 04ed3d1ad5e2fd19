package dev.lanes.benchmarks;

import java.util.ArrayList;
import java.util.List;

/** A Markdown table with aligned columns: the first {@code leftColumns} left-aligned, the others right-aligned. */
public final class MarkdownTable {

    private final List<String> header;
    private final int leftColumns;
    private final List<List<String>> rows = new ArrayList<>();

    public MarkdownTable(int leftColumns, List<String> header) {
        this.leftColumns = leftColumns;
        this.header = List.copyOf(header);
    }

    public MarkdownTable row(List<String> cells) {
        if (cells.size() != header.size()) {
            throw new IllegalArgumentException(cells.size() + " cells for " + header.size() + " columns");
        }
        rows.add(List.copyOf(cells));
        return this;
    }

    public boolean isEmpty() {
        return rows.isEmpty();
    }

    public String render() {
        int[] widths = new int[header.size()];
        for (int i = 0; i < widths.length; i++) {
            widths[i] = Math.max(3, header.get(i).length());
            for (List<String> row : rows) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        StringBuilder out = new StringBuilder();
        appendRow(out, header, widths);
        out.append('|');
        for (int i = 0; i < widths.length; i++) {
            out.append(i < leftColumns ? ":" + "-".repeat(widths[i] + 1) : "-".repeat(widths[i] + 1) + ":").append('|');
        }
        out.append('\n');
        for (List<String> row : rows) {
            appendRow(out, row, widths);
        }
        return out.toString();
    }

    private void appendRow(StringBuilder out, List<String> cells, int[] widths) {
        out.append('|');
        for (int i = 0; i < cells.size(); i++) {
            String cell = cells.get(i);
            String padding = " ".repeat(widths[i] - cell.length());
            out.append(' ').append(i < leftColumns ? cell + padding : padding + cell).append(" |");
        }
        out.append('\n');
    }
}
