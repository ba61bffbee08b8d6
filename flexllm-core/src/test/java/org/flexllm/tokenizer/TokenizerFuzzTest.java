package org.flexllm.tokenizer;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.flexllm.FlexLlmException;
import org.flexllm.FuzzInputs;
import org.flexllm.FuzzTarget;

/**
 * Any bytes as {@code tokenizer.json}, as {@code tokenizer_config.json} beside a small valid tokenizer, or as a chat
 * template: loading gives a tokenizer that encodes, decodes and renders a conversation, or a
 * {@link TokenizerFormatException} / {@link ChatTemplateException} (both {@link FlexLlmException}s). Seeds:
 * {@code TokenizerFuzzTestInputs}; {@code scripts/fuzz.sh} adds the tokenizers of {@code ../shared}.
 */
class TokenizerFuzzTest {
    /** A byte-level BPE tokenizer with a split regex, added tokens and a template post-processor. */
    private static final byte[] SMALL_TOKENIZER = """
            {"added_tokens": [{"id": 5, "content": "<s>", "special": true}, {"id": 6, "content": "</s>", "special": true}],
             "normalizer": null,
             "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
             "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                 {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [5],
                 "tokens": ["<s>"]}}},
             "decoder": {"type": "ByteLevel"},
             "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "\\u0120": 4}, "merges": ["a b"]}}
            """.getBytes(StandardCharsets.UTF_8);
    private static final List<ChatMessage> CONVERSATION = List.of(new ChatMessage("system", "Be brief."),
            new ChatMessage("user", "Hi <s>"), new ChatMessage("assistant", "Hello."), new ChatMessage("user", "Why?"));

    @DictionaryEntries({"\"model\"", "\"type\"", "\"BPE\"", "\"vocab\"", "\"merges\"", "\"added_tokens\"",
            "\"normalizer\"", "\"pre_tokenizer\"", "\"post_processor\"", "\"decoder\"", "\"Sequence\"",
            "\"ByteLevel\"", "\"Metaspace\"", "\"Split\"", "\"Regex\"", "\"String\"", "\"pattern\"", "\"behavior\"",
            "\"Isolated\"", "\"Replace\"", "\"Prepend\"", "\"ByteFallback\"", "\"Fuse\"", "\"Strip\"",
            "\"TemplateProcessing\"", "\"SpecialToken\"", "\"special_tokens\"", "\"byte_fallback\"",
            "\"unk_token\"", "\"ignore_merges\"", "\"special\"", "\"content\"", "\"id\"", "\"ids\"", "\"single\""})
    @FuzzTarget
    void tokenizerJson(byte[] bytes) {
        exercise(Map.of("tokenizer.json", bytes));
    }

    @DictionaryEntries({"\"bos_token\"", "\"eos_token\"", "\"chat_template\"", "\"content\"", "\"name\"",
            "\"default\"", "\"template\"", "{{", "}}", "{%", "%}", "messages", "add_generation_prompt"})
    @FuzzTarget
    void tokenizerConfigJson(byte[] bytes) {
        exercise(Map.of("tokenizer.json", SMALL_TOKENIZER, "tokenizer_config.json", bytes));
    }

    @DictionaryEntries({"{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", " for ", " in ", " endfor ", " if ",
            " endif ", " else ", " set ", "messages", "message['role']", "message['content']", "loop.index0",
            "add_generation_prompt", "bos_token", "eos_token", "raise_exception(", "strftime_now(", "|trim", "|length",
            ".strip()", ".split(", "namespace(", "range("})
    @FuzzTarget
    void chatTemplate(byte[] bytes) {
        exercise(Map.of("tokenizer.json", SMALL_TOKENIZER, "chat_template.jinja", bytes));
    }

    private static void exercise(Map<String, byte[]> files) {
        Tokenizer tokenizer = FuzzInputs.resultOr(FlexLlmException.class,
                () -> Tokenizer.load(FuzzInputs.folder("input", files)));
        if (tokenizer == null) {
            return;
        }
        tokenizer.decode(tokenizer.encode("ab c <s>\n\u00e9\u4e2d!", true), false);
        if (tokenizer.hasChatTemplate()) {
            FuzzInputs.resultOr(ChatTemplateException.class, () -> tokenizer.applyChatTemplate(CONVERSATION, true));
        }
    }
}
