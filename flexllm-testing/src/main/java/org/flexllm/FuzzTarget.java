package org.flexllm;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Timeout;

/**
 * A fuzz target of a parser of outside input: a Jazzer {@link FuzzTest} (over its inputs folder in ./test, fuzzed by
 * {@code scripts/fuzz.sh}) whose every input must end within 10 seconds. Jazzer passes the limit to libFuzzer per
 * input; JUnit enforces it per regression input, on a thread of its own because a parser stuck in a loop cannot be
 * interrupted.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@FuzzTest(maxDuration = "1s")
public @interface FuzzTarget {}
