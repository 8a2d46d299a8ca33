package io.refrag.core.json;

import io.refrag.core.exception.InvalidRequestException;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** Enum values by name, as configs and options write them: case-insensitive, with the allowed names on a miss. */
public final class Enums {
    private Enums() {
    }

    /**
     * @param type the enum
     * @param text a constant's name in any case
     * @param what what the value is, for the message (e.g. {@code pooling})
     * @param <E> the enum type
     * @return the constant
     * @throws InvalidRequestException naming the value and the allowed names (lower case)
     */
    public static <E extends Enum<E>> E parse(Class<E> type, String text, String what) {
        String name = text == null ? "" : text.strip();
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(name)) {
                return e;
            }
        }
        throw new InvalidRequestException("unknown " + what + " '" + text + "'; allowed: " + Arrays.stream(
                type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")));
    }
}
