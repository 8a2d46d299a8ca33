package io.refrag.langchain4j;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.util.ScopeMap;
import io.refrag.core.exception.InvalidRequestException;

import java.util.Collection;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * Jinjava's node pre-processor, run before every node it renders: counts nodes, watches the clock and the size of
 * every variable in scope, and stops the render by throwing {@link Exceeded}. A loop's iterations each render its
 * body again, so the node count bounds iterations; a node that builds an oversized value is caught before the next
 * node runs, so at most one step beyond the bound is ever held. The render's own budget lives in a thread-local,
 * set for the duration of {@link #run}.
 */
final class RenderBudget implements BiConsumer<Node, JinjavaInterpreter> {
    private static final ThreadLocal<Counter> CURRENT = new ThreadLocal<>();

    /** A render passed a bound. */
    static final class Exceeded extends InvalidRequestException {
        private static final long serialVersionUID = 1L;

        Exceeded(String message) {
            super(message);
        }
    }

    /** One render's use of the limits. */
    private static final class Counter {
        final TemplateLimits limits;
        final long deadline;
        long nodes;

        Counter(TemplateLimits limits) {
            this.limits = limits;
            this.deadline = System.nanoTime() + limits.maxTime().toNanos();
        }
    }

    /**
     * Runs a render under a budget.
     *
     * @param limits the bounds
     * @param render the render
     * @return what it returned
     */
    static String run(TemplateLimits limits, Supplier<String> render) {
        Counter previous = CURRENT.get();
        CURRENT.set(new Counter(limits));
        try {
            return render.get();
        } finally {
            if (previous == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(previous);
            }
        }
    }

    @Override
    public void accept(Node node, JinjavaInterpreter interpreter) {
        interpreter.getContext().setCurrentNode(node);
        Counter c = CURRENT.get();
        if (c == null) {
            return;
        }
        if (Thread.currentThread().isInterrupted()) {
            throw new Exceeded("the chat template's render was interrupted");
        }
        if (++c.nodes > c.limits.maxNodes()) {
            throw new Exceeded("the chat template rendered more than " + c.limits.maxNodes() + " nodes (a loop that "
                    + "runs too long?)");
        }
        if (System.nanoTime() > c.deadline) {
            throw new Exceeded("the chat template took longer than " + c.limits.maxTime().toMillis() + " ms to render");
        }
        for (ScopeMap<String, Object> scope = interpreter.getContext(); scope != null; scope = scope.getParent()) {
            for (Map.Entry<String, Object> e : scope.getScope().entrySet()) {
                check(e.getKey(), e.getValue(), c.limits.maxValueChars(), true);
            }
        }
    }

    private static void check(String name, Object value, long max, boolean descend) {
        long size = value instanceof CharSequence s ? s.length() : value instanceof Collection<?> l ? l.size()
                : value instanceof Map<?, ?> m ? m.size() : 0;
        if (size > max) {
            throw new Exceeded("the chat template's variable '" + name + "' grew to " + size + " characters or "
                    + "elements; at most " + max + " are allowed");
        }
        if (descend && value instanceof Map<?, ?> m) { // a namespace() holds its values one level down
            for (Map.Entry<?, ?> e : m.entrySet()) {
                check(name + "." + e.getKey(), e.getValue(), max, false);
            }
        }
    }
}
