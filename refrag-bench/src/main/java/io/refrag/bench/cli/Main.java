package io.refrag.bench.cli;

import io.refrag.core.exception.RefragException;
import io.refrag.core.generate.GenerationResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;
import picocli.CommandLine;

import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Entry point of {@code refrag-bench.jar} (picocli). Exit codes: 0 success, 2 bad command line or input (one line on
 * stderr, with close matches for a mistyped option or command), 1 unexpected failure (one line; {@code --verbose} adds
 * the stack trace).
 */
public final class Main {
    private final PrintStream out;
    private final PrintStream err;

    /** The command tree: sub-commands only, with the usage printed when none is given. */
    @Command(name = "refrag-bench.jar", mixinStandardHelpOptions = true, version = "refrag-bench 0.1.0",
            description = "REFRAG on the JVM: generate, compare full context with REFRAG, evaluate, train, precompute, "
                + "serve.",
            subcommands = {Generate.class, Compare.class, Eval.class, Perplexity.class, Precompute.class,
                Sample.class, Train.class, Peer.class, Concurrency.class, Serve.class,
                HubImport.class})
    static final class Root implements Runnable {
        @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
                description = "print the stack trace of an unexpected failure")
        boolean verbose;

        @Override
        public void run() {
            throw new ParameterException(new CommandLine(this), "give a command: generate, compare, eval, perplexity, "
                    + "precompute, sample, train or serve (--help lists them)");
        }
    }

    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /**
     * @param args sub-command and options
     */
    public static void main(String[] args) {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        System.exit(new Main(System.out, System.err).run(args));
    }

    int run(String[] args) {
        boolean verbose = Arrays.asList(args).contains("--verbose");
        CommandLine cli = new CommandLine(new Root());
        cli.setOut(new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true));
        cli.setErr(new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true));
        cli.setParameterExceptionHandler((e, argv) -> {
            err.println("refrag: " + parameterMessage(e));
            return 2;
        });
        cli.setExecutionExceptionHandler((e, command, parsed) -> {
            if (e instanceof RefragException) {
                err.println("refrag: " + e.getMessage().replace('\n', ' '));
                return 2;
            }
            return unexpected(e, verbose);
        });
        if (args.length == 0) {
            cli.usage(err);
            return 2;
        }
        try {
            return cli.execute(args);
        } catch (RuntimeException | Error e) {
            return unexpected(e, verbose);
        }
    }

    /** One line for a command line picocli refused; a mistyped option or command names its closest matches. */
    private static String parameterMessage(ParameterException e) {
        String where = e.getCommandLine().getCommandName();
        if (e instanceof UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            String arg = u.getUnmatched().get(0);
            List<String> close = u.getSuggestions();
            String what = arg.startsWith("-") ? "unknown option '" + arg + "'" : "unexpected argument '" + arg + "'";
            return where + ": " + what + (close.isEmpty() ? "" : "; did you mean " + String.join(" or ", close) + "?")
                    + " (--help lists the options)";
        }
        return where + ": " + e.getMessage().replace('\n', ' ');
    }

    /**
     * Reports a failure no check foresaw: one line, the stack trace only when asked for.
     *
     * @return exit code 1
     */
    int unexpected(Throwable e, boolean verbose) {
        err.println("refrag: unexpected failure: " + String.valueOf(e).replace('\n', ' ')
                + (verbose ? "" : " (--verbose prints the stack trace)"));
        if (verbose) {
            e.printStackTrace(err);
        }
        return 1;
    }

    static String metricsLine(GenerationResult r) {
        return String.format("[%d prompt positions, %d generated, finish %s] TTFT %.2f ms, TTIT %.2f ms, %.1f tokens/s",
                r.promptTokens(), r.generatedTokens(), r.finishReason(), r.metrics().ttftMillis(),
                r.metrics().ttitMillis(), r.metrics().throughputTokensPerSecond());
    }
}
