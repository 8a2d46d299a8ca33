package io.refrag.bench.cli;

import io.refrag.train.StepReport;
import io.refrag.train.TrainingListener;
import io.refrag.train.TrainingResult;
import io.refrag.train.TrainingTask;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code train reconstruct|cpt|policy --config FILE}: runs one training task, prints progress to stderr and the
 * result (held-out NLLs, output folder) to stdout.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run a training task from its JSON config (keys: see TrainingTask.read); writes "
            + "OUTPUT/refrag.json.", "Tasks: reconstruct, cpt, policy."})
final class Train extends CliCommand {
    @Parameters(index = "0", paramLabel = "reconstruct|cpt|policy", description = "the task")
    String task;

    @Option(names = "--config", required = true, paramLabel = "FILE.json", description = "the task's config")
    Path config;

    @Mixin
    CliOptions.Device device;

    @Override
    void execute() {
        device.applyThreads();
        TrainingTask training = TrainingTask.read(task, CliOptions.requireFile("--config", config));
        Progress progress = new Progress("train " + task, err(), json);
        TrainingListener listener = new TrainingListener() {
            @Override
            public void onStep(StepReport r) {
                progress.update(r.step(), r.totalSteps(), String.format(Locale.ROOT, "loss %.4f", r.loss()));
            }

            @Override
            public void onEvaluation(String label, double heldOutNll) {
                err().printf(Locale.ROOT, "[%s] held-out NLL %s training: %.4f%n", task, label, heldOutNll);
            }
        };
        TrainingResult r = training.run(listener);
        print(r, out -> {
            out.println(r.summary());
            out.println("pipeline folder (Refrag.load / refrag.json): " + r.output());
        });
    }
}
