package org.flexllm.tokenizer;

/**
 * A token matched verbatim in the input before the model runs ({@code tokenizer.json} "added_tokens").
 *
 * @param id         its id
 * @param content    the text it matches
 * @param special    whether decoding with {@code skipSpecialTokens} drops it
 * @param singleWord whether it only matches when no word character touches it on either side
 * @param lstrip     whether it swallows the whitespace before it
 * @param rstrip     whether it swallows the whitespace after it
 * @param normalized whether it is matched in the normalized text rather than the raw input
 */
record AddedToken(int id, String content, boolean special, boolean singleWord, boolean lstrip, boolean rstrip,
        boolean normalized) {

    /** A special token matched in the raw input with no whitespace handling, like BOS and EOS. */
    static AddedToken special(int id, String content) {
        return new AddedToken(id, content, true, false, false, false, false);
    }

    /** Reads one element of {@code added_tokens}. */
    static AddedToken read(JsonField json) {
        JsonField content = json.get("content");
        if (content.text().isEmpty()) {
            throw content.error("must not be empty");
        }
        return new AddedToken(json.get("id").integer(), content.text(), json.bool("special", false),
                json.bool("single_word", false), json.bool("lstrip", false), json.bool("rstrip", false),
                json.bool("normalized", !json.bool("special", false)));
    }
}
