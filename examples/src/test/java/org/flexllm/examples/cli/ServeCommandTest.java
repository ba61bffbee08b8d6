package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code flexllm serve} in-process: it starts, answers with the key it was given, and stops when interrupted. */
class ServeCommandTest {
    private static final Pattern LISTENING = Pattern.compile("on http://127\\.0\\.0\\.1:(\\d+)/v1");

    @TempDir
    Path temp;

    @Test
    void servesUntilStopped() throws Exception {
        StringWriter err = new StringWriter();
        CommandLine cli = FlexLlm.commandLine();
        cli.setOut(new PrintWriter(new StringWriter(), true));
        cli.setErr(new PrintWriter(err, true));
        AtomicInteger exit = new AtomicInteger(-1);
        Thread serving = Thread.ofPlatform().start(() -> exit.set(cli.execute("serve", "--model", "synthetic:tiny",
                "--port", "0", "--api-key", "sk-cli", "--state-dir", temp.toString())));
        int port = port(err);
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest.Builder models = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/models"))
                .timeout(Duration.ofSeconds(30));
        assertEquals(401, http.send(models.build(), HttpResponse.BodyHandlers.ofString()).statusCode());
        HttpResponse<String> ok = http.send(models.header("Authorization", "Bearer sk-cli").build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ok.statusCode());
        assertTrue(ok.body().contains("synthetic:tiny"), ok.body());
        serving.interrupt();
        assertTrue(serving.join(Duration.ofSeconds(60)), "stopped");
    }

    /** The port the server reports on stderr once it listens. */
    private static int port(StringWriter err) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < end) {
            Matcher m = LISTENING.matcher(err.toString());
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            Thread.sleep(20);
        }
        return fail("the server did not report its port: " + err);
    }
}
