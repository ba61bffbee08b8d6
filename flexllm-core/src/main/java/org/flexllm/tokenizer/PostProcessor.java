package org.flexllm.tokenizer;

import com.google.common.primitives.ImmutableIntArray;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Adds special tokens around the encoded text when asked to ({@code tokenizer.json} "post_processor").
 */
interface PostProcessor {
    /** Adds nothing. */
    PostProcessor NONE = new Sequence(List.of());

    int[] process(int[] ids, boolean addSpecialTokens);

    /** The id put in front of the text, when exactly one is (a BOS token). */
    OptionalInt leadingId();

    /** Reads one {@code post_processor} object. */
    static PostProcessor read(JsonField json) {
        return switch (json.type()) {
            case "TemplateProcessing" -> TemplateProcessing.read(json);
            // ByteLevel only adjusts character offsets, which this library does not report.
            case "ByteLevel" -> NONE;
            case "Sequence" -> new Sequence(
                    json.get("processors").elements().stream().map(PostProcessor::read).toList());
            default -> throw json.unsupported("a post-processor");
        };
    }

    /** Applies each post-processor in turn. */
    record Sequence(List<PostProcessor> processors) implements PostProcessor {
        @Override
        public int[] process(int[] ids, boolean addSpecialTokens) {
            for (PostProcessor processor : processors) {
                ids = processor.process(ids, addSpecialTokens);
            }
            return ids;
        }

        @Override
        public OptionalInt leadingId() {
            return processors.stream().map(PostProcessor::leadingId).filter(OptionalInt::isPresent).findFirst()
                    .orElse(OptionalInt.empty());
        }
    }

    /** The single-sequence template: special tokens before ({@code prefix}) and after ({@code suffix}) the text. */
    record TemplateProcessing(ImmutableIntArray prefix, ImmutableIntArray suffix) implements PostProcessor {
        @Override
        public int[] process(int[] ids, boolean addSpecialTokens) {
            if (!addSpecialTokens) {
                return ids;
            }
            return ImmutableIntArray.builder(prefix.length() + ids.length + suffix.length())
                    .addAll(prefix).addAll(ids).addAll(suffix).build().toArray();
        }

        @Override
        public OptionalInt leadingId() {
            return prefix.length() == 1 ? OptionalInt.of(prefix.get(0)) : OptionalInt.empty();
        }

        /** Reads the {@code single} template; pair templates are never used by this library. */
        static TemplateProcessing read(JsonField json) {
            JsonField single = json.get("single");
            JsonField specialTokens = json.get("special_tokens");
            ImmutableIntArray.Builder prefix = ImmutableIntArray.builder();
            ImmutableIntArray.Builder suffix = ImmutableIntArray.builder();
            boolean sequenceSeen = false;
            for (JsonField piece : single.elements()) {
                Optional<JsonField> special = piece.find("SpecialToken");
                if (special.isPresent()) {
                    for (JsonField id : specialIds(special.get(), specialTokens)) {
                        (sequenceSeen ? suffix : prefix).add(id.integer());
                    }
                } else {
                    JsonField sequence = piece.find("Sequence")
                            .orElseThrow(() -> piece.error("must hold \"SpecialToken\" or \"Sequence\""));
                    if (sequenceSeen || !sequence.text("id").equals("A")) {
                        throw sequence.error("must be sequence A, which appears exactly once");
                    }
                    sequenceSeen = true;
                }
            }
            if (!sequenceSeen) {
                throw single.error("has no sequence A");
            }
            return new TemplateProcessing(prefix.build(), suffix.build());
        }

        private static List<JsonField> specialIds(JsonField special, JsonField specialTokens) {
            String name = special.text("id");
            return specialTokens.find(name)
                    .orElseThrow(() -> special.get("id").error("names '" + name + "', which is not in special_tokens"))
                    .get("ids").elements();
        }
    }
}
