package dev.lanes.benchmarks;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Random;

/**
 * JSON-like event values of an exact size, generated deterministically from a seed: the same seed, size
 * and index always give the same bytes. The fields and their content vary from value to value the way
 * production events do (ids, timestamps, amounts, line items, free text), so compressors see realistic
 * redundancy: repeated field names and vocabularies, but no repeated values.
 */
public final class JsonValues {

    private static final String[] EVENT_TYPES = {"order.created", "order.paid", "payment.authorized",
            "payment.declined", "cart.updated", "session.started", "shipment.dispatched", "user.login",
            "user.profile.updated", "inventory.reserved"};
    private static final String[] COUNTRIES = {"DE", "FR", "US", "GB", "NL", "PL", "ES", "IT", "SE", "BR", "JP", "IN"};
    private static final String[] CURRENCIES = {"EUR", "USD", "GBP", "PLN", "SEK", "BRL", "JPY", "INR"};
    private static final String[] OS = {"android", "ios", "windows", "macos", "linux"};
    private static final String[] CHANNELS = {"web", "mobile", "store", "partner", "email"};
    private static final String[] TAGS = {"promo", "first-order", "returning", "gift", "express", "b2b",
            "loyalty", "mobile-only", "bundle", "preorder"};
    private static final String[] WORDS = {"customer", "requested", "delivery", "before", "the", "weekend",
            "package", "left", "at", "front", "door", "please", "call", "on", "arrival", "address", "updated",
            "invoice", "sent", "to", "billing", "contact", "item", "replaced", "with", "newer", "model",
            "refund", "approved", "after", "review", "warehouse", "north", "priority", "handling", "and",
            "fragile", "goods", "checked", "by", "support", "agent", "no", "further", "action", "needed"};
    private static final long BASE_EPOCH_MS = 1_767_225_600_000L; // 2026-01-01T00:00:00Z
    private static final String NOTE_OPEN = ",\"note\":\"";
    private static final String CLOSE = "\"}";

    private JsonValues() {
    }

    /** {@code count} distinct values of {@code size} bytes each, the {@code i}-th being {@link #value}(seed, size, i). */
    public static byte[][] generate(long seed, int size, int count) {
        byte[][] values = new byte[count][];
        for (int i = 0; i < count; i++) {
            values[i] = value(seed, size, i);
        }
        return values;
    }

    /** One UTF-8 (ASCII) JSON object of exactly {@code size} bytes; at least 64 bytes. */
    public static byte[] value(long seed, int size, long index) {
        if (size < 64) {
            throw new IllegalArgumentException("a JSON-like value needs at least 64 bytes, was " + size);
        }
        Random random = new Random(seed * 0x9E3779B97F4A7C15L + index);
        // Room kept for the closing note field, so that the value can always be filled to its exact size.
        int budget = size - NOTE_OPEN.length() - CLOSE.length() - 4;
        StringBuilder json = new StringBuilder(size);
        json.append('{');
        appendIfRoom(json, budget, "\"type\":\"" + pick(random, EVENT_TYPES) + "\"");
        appendIfRoom(json, budget, "\"eventId\":\"" + hex(random, 8) + "-" + hex(random, 4) + "-" + hex(random, 12) + "\"");
        long timestamp = BASE_EPOCH_MS + index * 37 + random.nextInt(1000);
        appendIfRoom(json, budget, "\"ts\":" + timestamp);
        appendIfRoom(json, budget, "\"userId\":\"u-" + (100_000 + random.nextInt(900_000)) + "\"");
        appendIfRoom(json, budget, "\"sessionId\":\"" + hex(random, 16) + "\"");
        appendIfRoom(json, budget, "\"country\":\"" + pick(random, COUNTRIES) + "\"");
        appendIfRoom(json, budget, "\"channel\":\"" + pick(random, CHANNELS) + "\"");
        appendIfRoom(json, budget, "\"device\":{\"os\":\"" + pick(random, OS) + "\",\"appVersion\":\""
                + (1 + random.nextInt(9)) + "." + random.nextInt(20) + "." + random.nextInt(100) + "\"}");
        appendIfRoom(json, budget, String.format(Locale.ROOT, "\"amount\":%d.%02d,\"currency\":\"%s\"",
                random.nextInt(2_000), random.nextInt(100), pick(random, CURRENCIES)));
        appendIfRoom(json, budget, "\"tags\":[\"" + pick(random, TAGS) + "\",\"" + pick(random, TAGS) + "\"]");
        appendItems(json, budget, random);
        fillNote(json, size, random);
        byte[] bytes = json.toString().getBytes(StandardCharsets.US_ASCII);
        if (bytes.length != size) {
            throw new IllegalStateException("generated " + bytes.length + " bytes instead of " + size);
        }
        return bytes;
    }

    /** Line items while they fit, between one and twelve of them. */
    private static void appendItems(StringBuilder json, int budget, Random random) {
        int wanted = 1 + random.nextInt(12);
        StringBuilder items = new StringBuilder("\"items\":[");
        int added = 0;
        for (int i = 0; i < wanted; i++) {
            String item = String.format(Locale.ROOT, "{\"sku\":\"SKU-%05d\",\"qty\":%d,\"price\":%d.%02d}",
                    random.nextInt(100_000), 1 + random.nextInt(5), random.nextInt(500), random.nextInt(100));
            int length = items.length() + (added > 0 ? 1 : 0) + item.length() + 1;
            if (json.length() + 1 + length > budget) {
                break;
            }
            items.append(added > 0 ? "," : "").append(item);
            added++;
        }
        if (added > 0) {
            appendIfRoom(json, budget, items.append(']').toString());
        }
    }

    /** Free text of words up to the exact size; the last word is cut to fit. */
    private static void fillNote(StringBuilder json, int size, Random random) {
        json.append(NOTE_OPEN);
        int end = size - CLOSE.length();
        boolean first = true;
        while (json.length() < end) {
            String word = (first ? "" : " ") + pick(random, WORDS);
            first = false;
            json.append(word, 0, Math.min(word.length(), end - json.length()));
        }
        json.append(CLOSE);
    }

    private static void appendIfRoom(StringBuilder json, int budget, String field) {
        int separator = json.length() > 1 ? 1 : 0;
        if (json.length() + separator + field.length() <= budget) {
            if (separator == 1) {
                json.append(',');
            }
            json.append(field);
        }
    }

    private static String pick(Random random, String[] choices) {
        return choices[random.nextInt(choices.length)];
    }

    private static String hex(Random random, int digits) {
        StringBuilder out = new StringBuilder(digits);
        for (int i = 0; i < digits; i++) {
            out.append(Character.forDigit(random.nextInt(16), 16));
        }
        return out.toString();
    }
}
