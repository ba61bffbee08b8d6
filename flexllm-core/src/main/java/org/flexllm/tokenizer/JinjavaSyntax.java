package org.flexllm.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites the two Jinja constructs of Hugging Face chat templates that Jinjava parses differently,
 * inside {@code {{ }}} and {@code {% %}} only:
 * <ul>
 *   <li>{@code xs[::-1]} (a reversed copy) is a syntax error in Jinjava; it becomes {@code xs|reverse}.
 *   <li>In a keyword argument Jinjava binds {@code =} tighter than arithmetic, so that
 *       {@code namespace(last=messages|length - 1)} subtracts 1 from the argument object; the value is
 *       put in parentheses.
 * </ul>
 */
final class JinjavaSyntax {
    private static final Pattern CODE = Pattern.compile("\\{\\{.*?}}|\\{%.*?%}", Pattern.DOTALL);
    private static final Pattern REVERSED = Pattern.compile("\\[\\s*::\\s*-1\\s*]");
    /** {@code name=value} right after "(" or ","; values holding calls, strings or comparisons are left alone. */
    private static final Pattern KEYWORD_ARGUMENT =
            Pattern.compile("([(,]\\s*)(\\w+)\\s*=(?!=)\\s*([^,()'\"=]+?)(?=\\s*[,)])");

    private JinjavaSyntax() {
    }

    static String adapt(String template) {
        return CODE.matcher(template).replaceAll(code -> Matcher.quoteReplacement(adaptCode(code.group())));
    }

    private static String adaptCode(String code) {
        String reversed = REVERSED.matcher(code).replaceAll("|reverse");
        return KEYWORD_ARGUMENT.matcher(reversed).replaceAll("$1$2=($3)");
    }
}
