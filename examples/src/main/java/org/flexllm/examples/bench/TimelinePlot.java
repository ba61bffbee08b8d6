package org.flexllm.examples.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * A run's timeline as a PNG of three stacked charts sharing the time axis: the arrival rate, the SLO attainment
 * of the requests by when they arrived, and the finetuning throughput. Drawing needs no display.
 */
public final class TimelinePlot {
    private static final int WIDTH = 900;
    private static final int HEIGHT = 260;

    private TimelinePlot() {}

    /** Writes the plot of {@code bins} to {@code file}, titled {@code title}. */
    public static void write(List<TimelineBin> bins, String title, Path file) {
        double end = bins.getLast().startS() + bins.getLast().widthS();
        XYChart attainment = chart("", "SLO attainment (%)", end, bins, b -> b.arrivals() > 0,
                b -> 100 * b.sloAttainment());
        attainment.getStyler().setYAxisMax(100.0);
        List<XYChart> charts = List.of(
                chart(title, "arrivals (requests/s)", end, bins, b -> true, TimelineBin::arrivalRate),
                attainment,
                chart("", "finetuning (tokens/s)", end, bins, b -> true, TimelineBin::finetuneTokensPerS));
        charts.getLast().setXAxisTitle("time (s)");
        try (OutputStream out = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(charts, charts.size(), 1, out, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the plot " + file, e);
        }
    }

    /** One chart over the whole run, from 0 up; {@code which} bins have a value (the line joins those). */
    private static XYChart chart(String title, String quantity, double endS, List<TimelineBin> bins,
                                 Predicate<TimelineBin> which, ToDoubleFunction<TimelineBin> value) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).yAxisTitle(quantity).build();
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setXAxisMin(0.0).setXAxisMax(endS).setYAxisMin(0.0).setYAxisDecimalPattern("#,##0.#");
        List<TimelineBin> shown = bins.stream().filter(which).toList();
        if (!shown.isEmpty()) {
            chart.addSeries(quantity, shown.stream().mapToDouble(TimelineBin::midS).toArray(),
                    shown.stream().mapToDouble(value).toArray()).setMarker(SeriesMarkers.CIRCLE);
        }
        return chart;
    }
}
