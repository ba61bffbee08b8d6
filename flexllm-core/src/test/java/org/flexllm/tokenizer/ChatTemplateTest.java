package org.flexllm.tokenizer;

import static org.flexllm.tokenizer.ChatMessage.assistant;
import static org.flexllm.tokenizer.ChatMessage.system;
import static org.flexllm.tokenizer.ChatMessage.user;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Year;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The chat templates of {@code shared/tokenizers}; the expected strings follow from reading each
 * template's source.
 */
class ChatTemplateTest {
    @Test
    void llama3WrapsEachTurnInHeadersAndStartsWithBos() {
        Tokenizer llama3 = Golden.tokenizer("llama3");
        String prompt = llama3.applyChatTemplate(List.of(system("You are terse."), user("  Hi there  ")), true);
        assertEquals("<|begin_of_text|>"
                + "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", prompt);
        assertEquals(llama3.bosId().orElseThrow(), llama3.encode(prompt, false)[0]);
    }

    @Test
    void qwen3DropsReasoningOfEarlierAssistantTurns() {
        String prompt = Golden.tokenizer("qwen3").applyChatTemplate(List.of(system("Be brief."), user("Hi"),
                assistant("<think>\nhmm\n</think>\n\nHello!"), user("Bye")), true);
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n"
                + "<|im_start|>user\nBye<|im_end|>\n"
                + "<|im_start|>assistant\n", prompt);
    }

    @Test
    void qwen3KeepsReasoningOfTheTurnAfterTheLastQuery() {
        String prompt = Golden.tokenizer("qwen3").applyChatTemplate(List.of(user("Hi"),
                assistant("<think>\n\nhmm\n</think>\n\nHello!"),
                user("<tool_response>42</tool_response>"), assistant("Done")), false);
        assertEquals("<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\n<think>\nhmm\n</think>\n\nHello!<|im_end|>\n"
                + "<|im_start|>user\n<tool_response>42</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n<think>\n\n</think>\n\nDone<|im_end|>\n", prompt);
    }

    @Test
    void raiseExceptionRejectsTheConversation() {
        ChatTemplate template = new ChatTemplate(
                "{% if messages[0].role != 'user' %}{{ raise_exception('first turn must be the user') }}{% endif %}",
                "a test template", Map.of());
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> template.render(List.of(assistant("hi")), false));
        assertTrue(e.getMessage().contains("first turn must be the user"), e.getMessage());
    }

    @Test
    void strftimeNowFormatsToday() {
        ChatTemplate template = new ChatTemplate("{{ strftime_now('%Y') }}", "a test template", Map.of());
        assertEquals(Year.now().toString(), template.render(List.of(), false));
    }

    @Test
    void pythonStringMethodsBehaveAsInPython() {
        ChatTemplate template = new ChatTemplate("{% set m = ' xa xb x ' %}"
                + "[{{ m.strip() }}][{{ m.lstrip(' x') }}][{{ m.rstrip('x ') }}][{{ m.split('x')|join('|') }}]"
                + "[{{ m.split()|join('|') }}][{{ m.split('x')[-1] }}][{{ m.upper() }}]"
                + "[{% if m.startswith(' x') and not m.endswith('y') %}yes{% endif %}]",
                "a test template", Map.of());
        assertEquals("[xa xb x][a xb x ][ xa xb][ |a |b | ][xa|xb|x][ ][ XA XB X ][yes]",
                template.render(List.of(), false));
    }

    @Test
    void tokenizersWithoutTemplateSayWhy() {
        Tokenizer llama2 = Golden.tokenizer("llama2");
        assertFalse(llama2.hasChatTemplate());
        assertThrows(ChatTemplateException.class, () -> llama2.applyChatTemplate(List.of(user("hi")), true));
    }
}
