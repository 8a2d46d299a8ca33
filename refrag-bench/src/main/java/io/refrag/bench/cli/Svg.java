package io.refrag.bench.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Minimal SVG charts (no dependencies): lines of series, and labelled points; axes on rounded ticks. */
final class Svg {
    private static final String[] COLORS = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
    private static final int W = 720;
    private static final int H = 440;
    private static final int LEFT = 70;
    private static final int RIGHT = 200;
    private static final int TOP = 40;
    private static final int BOTTOM = 50;
    private static final int PLOT_W = W - LEFT - RIGHT;
    private static final int PLOT_H = H - TOP - BOTTOM;

    /**
     * One labelled point.
     *
     * @param label shown beside it
     * @param x x value
     * @param y y value
     */
    record Point(String label, double x, double y) {
    }

    /** An axis: rounded ticks from {@code lo} to {@code hi} every {@code step}. */
    private record Axis(double lo, double hi, double step) {
        /** Ticks at 1, 2 or 5 times a power of ten, about five of them, covering [min, max]. */
        static Axis of(double min, double max) {
            double span = max > min ? max - min : Math.max(Math.abs(max), 1);
            double raw = span / 5;
            double pow = Math.pow(10, Math.floor(Math.log10(raw)));
            double step = raw / pow < 1.5 ? pow : raw / pow < 3.5 ? 2 * pow : raw / pow < 7.5 ? 5 * pow : 10 * pow;
            double lo = Math.floor(min / step) * step;
            double hi = Math.max(lo + step, Math.ceil(max / step) * step);
            return new Axis(lo, hi, step);
        }

        double frac(double v) {
            return (v - lo) / (hi - lo);
        }

        String format(double v) {
            int decimals = Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
            return String.format(Locale.ROOT, "%." + decimals + "f", v);
        }
    }

    private Svg() {
    }

    /**
     * @param title chart title
     * @param xLabel x-axis label
     * @param yLabel y-axis label
     * @param series name to points ({x, y} pairs)
     * @return the SVG document
     */
    static String lineChart(String title, String xLabel, String yLabel, Map<String, List<double[]>> series) {
        double maxX = 1;
        double maxY = 1e-9;
        for (List<double[]> pts : series.values()) {
            for (double[] p : pts) {
                maxX = Math.max(maxX, p[0]);
                maxY = Math.max(maxY, p[1]);
            }
        }
        Axis ax = Axis.of(0, maxX);
        Axis ay = Axis.of(0, maxY);
        StringBuilder sb = frame(title, xLabel, yLabel, ax, ay);
        int s = 0;
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            String color = COLORS[s % COLORS.length];
            StringBuilder pts = new StringBuilder();
            for (double[] p : e.getValue()) {
                double x = x(ax, p[0]);
                double y = y(ay, p[1]);
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
                sb.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>%n", x, y,
                        color));
            }
            sb.append(String.format(Locale.ROOT, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" "
                    + "stroke-width=\"2\"/>%n", pts.toString().strip(), color));
            int ly = TOP + 16 + 20 * s;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                    + "stroke-width=\"2\"/>%n", W - RIGHT + 14, ly - 4, W - RIGHT + 34, ly - 4, color));
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", W - RIGHT + 40, ly,
                    escape(e.getKey())));
            s++;
        }
        return sb.append("</svg>\n").toString();
    }

    /**
     * @param title chart title
     * @param xLabel x-axis label
     * @param yLabel y-axis label
     * @param points the points, each labelled
     * @return the SVG document
     */
    static String scatter(String title, String xLabel, String yLabel, List<Point> points) {
        Axis ax = Axis.of(points.stream().mapToDouble(Point::x).min().orElse(0),
                points.stream().mapToDouble(Point::x).max().orElse(1));
        Axis ay = Axis.of(points.stream().mapToDouble(Point::y).min().orElse(0),
                points.stream().mapToDouble(Point::y).max().orElse(1));
        StringBuilder sb = frame(title, xLabel, yLabel, ax, ay);
        for (int i = 0; i < points.size(); i++) {
            Point p = points.get(i);
            String color = COLORS[i % COLORS.length];
            double x = x(ax, p.x());
            double y = y(ay, p.y());
            sb.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>%n", x, y,
                    color));
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"%s\">%s</text>%n",
                    x + 6, y - 4, color, escape(p.label())));
        }
        return sb.append("</svg>\n").toString();
    }

    /** The document start, title, plot frame, ticks and axis labels. */
    private static StringBuilder frame(String title, String xLabel, String yLabel, Axis ax, Axis ay) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">%n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n",
                W, H));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"24\" font-size=\"16\">%s</text>%n", LEFT,
                escape(title)));
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                + "stroke=\"black\"/>%n", LEFT, TOP, PLOT_W, PLOT_H));
        for (double v : ticks(ax)) {
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                    x(ax, v), TOP + PLOT_H + 16, ax.format(v)));
        }
        for (double v : ticks(ay)) {
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                    LEFT - 6, y(ay, v) + 4, ay.format(v)));
        }
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                LEFT + PLOT_W / 2, H - 12, escape(xLabel)));
        sb.append(String.format(Locale.ROOT, "<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" "
                + "text-anchor=\"middle\">%s</text>%n", TOP + PLOT_H / 2, TOP + PLOT_H / 2, escape(yLabel)));
        return sb;
    }

    private static List<Double> ticks(Axis a) {
        List<Double> t = new ArrayList<>();
        for (double v = a.lo(); v <= a.hi() + a.step() / 2; v += a.step()) {
            t.add(v);
        }
        return t;
    }

    private static double x(Axis a, double v) {
        return LEFT + PLOT_W * a.frac(v);
    }

    private static double y(Axis a, double v) {
        return TOP + PLOT_H - PLOT_H * a.frac(v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
