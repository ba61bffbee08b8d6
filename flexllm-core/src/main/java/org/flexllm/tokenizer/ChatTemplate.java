package org.flexllm.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import java.time.ZonedDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jinjava.javax.el.CompositeELResolver;

/**
 * A Hugging Face chat template (Jinja) rendered with Jinjava the way transformers renders it: blocks
 * trimmed, {@code messages}, {@code add_generation_prompt}, the special-token variables, and the
 * functions {@code raise_exception} and {@code strftime_now}.
 */
final class ChatTemplate {
    private final String source;
    private final String origin;
    private final Map<String, String> variables;

    /**
     * @param source    the template text
     * @param origin    where it came from, for error messages
     * @param variables extra variables such as {@code bos_token}
     */
    ChatTemplate(String source, String origin, Map<String, String> variables) {
        this.source = JinjavaSyntax.adapt(source);
        this.origin = origin;
        this.variables = Map.copyOf(variables);
    }

    String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Map<String, Object> context = new HashMap<>(variables);
        context.put("messages", messages.stream().map(m -> Map.of("role", m.role(), "content", m.content())).toList());
        context.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result = BoundedForTag.within(BoundedForTag.budget(messages.size()),
                () -> Engine.JINJAVA.renderForResult(source, context));
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new ChatTemplateException("chat template of " + origin + ": " + describe(error));
            }
        }
        return result.getOutput();
    }

    /** The template's own message when it called {@code raise_exception}, else Jinjava's. */
    private static String describe(TemplateError error) {
        for (Throwable cause = error.getException(); cause != null; cause = cause.getCause()) {
            if (cause instanceof ChatTemplateException raised) {
                return raised.getMessage();
            }
        }
        return error.getMessage();
    }

    /** Called by templates as {@code raise_exception(message)} to reject a conversation. */
    public static String raiseException(String message) {
        throw new ChatTemplateException(message);
    }

    /** Called by templates as {@code strftime_now(format)} (Llama 3.1 puts today's date in the system turn). */
    public static String strftimeNow(String format) {
        return StrftimeFormatter.format(ZonedDateTime.now(), format);
    }

    /** One engine for all templates, built on first use. */
    private static final class Engine {
        static final Jinjava JINJAVA = create();

        private static Jinjava create() {
            CompositeELResolver resolver = new CompositeELResolver();
            resolver.add(new PythonStringMethods());
            resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
            JinjavaConfig config = JinjavaConfig.newBuilder()
                    .withTrimBlocks(true)
                    .withLstripBlocks(true)
                    .withElResolver(resolver)
                    .withLegacyOverrides(LegacyOverrides.newBuilder()
                            .withUseTrimmingForNotesAndExpressions(true)
                            .withParseWhitespaceControlStrictly(true)
                            .withUseNaturalOperatorPrecedence(true)
                            .withEvaluateMapKeys(true)
                            .withKeepNullableLoopValues(true)
                            .build())
                    .build();
            Jinjava jinjava = new Jinjava(config);
            jinjava.registerFunction(function("raise_exception", "raiseException"));
            jinjava.registerFunction(function("strftime_now", "strftimeNow"));
            jinjava.getGlobalContext().registerTag(new BoundedForTag());
            return jinjava;
        }

        private static ELFunctionDefinition function(String name, String method) {
            return new ELFunctionDefinition("", name, ChatTemplate.class, method, String.class);
        }
    }
}
