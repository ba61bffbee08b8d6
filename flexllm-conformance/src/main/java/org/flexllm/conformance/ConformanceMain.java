package org.flexllm.conformance;

import static org.junit.platform.engine.discovery.ClassNameFilter.includeClassNamePatterns;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs the suite outside Maven, where there is only a Java runtime and the jars ({@code scripts/gpu-check.sh} on a
 * GPU machine), against the backends of {@value Conformance#PROPERTY}; prints one JSON line with the counts, the
 * failures and the first reason a test was skipped. Exit status 1 when a test failed or none was found, 3 when none
 * ran (every one skipped: the backend cannot run here), else 0.
 */
public final class ConformanceMain {
    /** The deadline of a test without its own, as in the Maven builds (junit-platform.properties). */
    private static final String TIMEOUT = "5 m";
    /** snake_case names, as the command line's JSON. */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE).build();

    private ConformanceMain() {}

    /**
     * @param backends   what {@value Conformance#PROPERTY} named (all available when empty)
     * @param failures   each failed test: its name and message
     * @param skipReason why the first skipped test was skipped, or null
     */
    record Summary(String backends, long found, long succeeded, long skipped, long failed, List<String> failures,
                   String skipReason) {}

    public static void main(String[] args) throws JsonProcessingException {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage(ConformanceMain.class.getPackageName()))
                .filters(includeClassNamePatterns(".*Conformance"))
                .configurationParameter("junit.jupiter.execution.timeout.default", TIMEOUT)
                .build();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        FirstSkip skip = new FirstSkip();
        LauncherFactory.create().execute(request, summary, skip);
        TestExecutionSummary s = summary.getSummary();
        List<String> failures = new ArrayList<>();
        s.getFailures().forEach(f -> failures.add(f.getTestIdentifier().getDisplayName() + ": "
                + f.getException().getMessage()));
        long skipped = s.getTestsAbortedCount() + s.getTestsSkippedCount();
        System.out.println(JSON.writeValueAsString(new Summary(System.getProperty(Conformance.PROPERTY,
                "all available"), s.getTestsFoundCount(), s.getTestsSucceededCount(), skipped,
                s.getTestsFailedCount(), failures, skip.reason)));
        System.exit(s.getTestsFailedCount() > 0 || s.getTestsFoundCount() == 0 ? 1
                : s.getTestsSucceededCount() == 0 ? 3 : 0);
    }

    /** Keeps the reason of the first test skipped by an assumption (a backend this machine cannot run). */
    private static final class FirstSkip implements TestExecutionListener {
        private String reason;

        @Override
        public void executionFinished(TestIdentifier test, TestExecutionResult result) {
            if (reason == null && result.getStatus() == TestExecutionResult.Status.ABORTED) {
                reason = result.getThrowable().map(Throwable::getMessage).orElse("skipped");
            }
        }
    }
}
