package io.refrag.bench.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/** {@code --name value} options and {@code --flag} switches of one sub-command, each checked against what it allows. */
final class Args {
    private final String command;
    private final Map<String, String> values = new HashMap<>();

    private Args(String command) {
        this.command = command;
    }

    /**
     * @param command sub-command name, for messages
     * @param argv arguments after the sub-command
     * @param options names that take a value
     * @param flags names that take none
     * @return the parsed arguments
     * @throws UsageException for unknown names, missing values or stray words
     */
    static Args parse(String command, List<String> argv, Set<String> options, Set<String> flags) {
        Args a = new Args(command);
        for (int i = 0; i < argv.size(); i++) {
            String arg = argv.get(i);
            if (!arg.startsWith("--")) {
                throw new UsageException(command + ": unexpected argument '" + arg + "'");
            }
            String name = arg.substring(2);
            String inline = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                inline = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (a.values.containsKey(name)) {
                throw new UsageException(command + ": option --" + name + " is given twice");
            }
            if (flags.contains(name) && inline == null) {
                a.values.put(name, "true");
            } else if (options.contains(name)) {
                if (inline == null) {
                    if (i + 1 >= argv.size()) {
                        throw new UsageException(command + ": option --" + name + " needs a value");
                    }
                    inline = argv.get(++i);
                }
                a.values.put(name, inline);
            } else {
                List<String> allowed = new ArrayList<>();
                options.forEach(o -> allowed.add("--" + o));
                flags.forEach(f -> allowed.add("--" + f));
                allowed.sort(null);
                throw new UsageException(command + ": unknown option '" + arg + "'; allowed: " + allowed);
            }
        }
        return a;
    }

    boolean flag(String name) {
        return values.containsKey(name);
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    String requireString(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new UsageException(command + ": missing required option --" + name);
        }
        return v;
    }

    Path requireDir(String name) {
        Path p = Path.of(requireString(name));
        if (!Files.isDirectory(p)) {
            throw new UsageException(command + ": --" + name + " " + p + " is not an existing folder");
        }
        return p;
    }

    Path requireFile(String name) {
        Path p = Path.of(requireString(name));
        return checkFile(name, p);
    }

    Path optFile(String name) {
        return has(name) ? checkFile(name, Path.of(values.get(name))) : null;
    }

    /**
     * A file the command will write, checked before any work: its folder must exist.
     *
     * @param name the option
     * @return its absolute path, or null when the option is absent
     */
    Path optOutputFile(String name) {
        if (!has(name)) {
            return null;
        }
        Path p = Path.of(requireString(name)).toAbsolutePath();
        if (!Files.isDirectory(p.getParent())) {
            throw new UsageException(command + ": --" + name + " " + p + ": folder " + p.getParent()
                    + " does not exist");
        }
        return p;
    }

    private Path checkFile(String name, Path p) {
        if (!Files.isRegularFile(p)) {
            throw new UsageException(command + ": --" + name + " " + p + " is not an existing file");
        }
        return p;
    }

    int integer(String name, int fallback) {
        long v = longValue(name, fallback);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new UsageException(command + ": --" + name + " must be an integer in [" + Integer.MIN_VALUE + ", "
                    + Integer.MAX_VALUE + "], got '" + values.get(name) + "'");
        }
        return (int) v;
    }

    long longValue(String name, long fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": --" + name + " must be an integer, got '" + v + "'");
        }
    }

    float number(String name, float fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            float f = Float.parseFloat(v.trim());
            if (Float.isNaN(f)) {
                throw new NumberFormatException();
            }
            return f;
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": --" + name + " must be a number, got '" + v + "'");
        }
    }

    List<Integer> integerList(String name, List<Integer> fallback) {
        return list(name, fallback, Integer::parseInt, "integers");
    }

    List<Double> numberList(String name, List<Double> fallback) {
        return list(name, fallback, Double::parseDouble, "numbers");
    }

    List<String> stringList(String name, List<String> fallback) {
        return list(name, fallback, String::toString, "names");
    }

    private <T> List<T> list(String name, List<T> fallback, Function<String, T> parse, String what) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        List<T> out = new ArrayList<>();
        for (String part : v.split(",")) {
            try {
                out.add(parse.apply(part.trim()));
            } catch (NumberFormatException e) {
                throw new UsageException(command + ": --" + name + " must be a comma-separated list of " + what
                        + ", got '" + v + "'");
            }
        }
        return out;
    }
}
