package org.flexllm.examples.bench;

import org.flexllm.api.Slo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TimelinePlotTest {
    private static final Slo SLO = new Slo(1000, 100);
    @TempDir
    Path temp;

    private static BufferedImage read(Path file) throws IOException {
        BufferedImage image = ImageIO.read(file.toFile());
        assertNotNull(image, "not an image ImageIO can decode: " + file);
        return image;
    }

    @Test
    void threeChartsAreStackedInOnePng() throws IOException {
        var run = new CoserveRun(List.of(new RequestOutcome(0.5, true, true, 10, 5, 8, SLO), RequestOutcome.missed(2.5, SLO)),
                List.of(new FinetuneProgress(1.5, 256)), 4);
        Path file = temp.resolve("timeline.png");
        TimelinePlot.write(Timeline.of(run, 1), "coserve on synthetic:tiny", file);
        BufferedImage image = read(file);
        assertEquals(900, image.getWidth());
        assertEquals(3 * 260, image.getHeight());
        assertTrue(distinctColours(image) > 2, "the charts drew something");
    }

    @Test
    void aRunWithoutRequestsStillPlots() throws IOException {
        var run = new CoserveRun(List.of(), List.of(new FinetuneProgress(0.5, 64)), 2);
        Path file = temp.resolve("finetune-only.png");
        TimelinePlot.write(Timeline.of(run, 1), "finetune-only", file);
        assertEquals(900, read(file).getWidth());
    }

    private static long distinctColours(BufferedImage image) {
        return java.util.stream.IntStream.range(0, image.getWidth() * image.getHeight())
                .map(i -> image.getRGB(i % image.getWidth(), i / image.getWidth())).distinct().limit(10).count();
    }
}
