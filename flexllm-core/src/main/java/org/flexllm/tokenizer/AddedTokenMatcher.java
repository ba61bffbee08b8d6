package org.flexllm.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Finds added tokens in text: a character trie scanned leftmost-longest, without overlaps. */
final class AddedTokenMatcher {
    /** One occurrence of {@code token} at {@code [start, end)}. */
    record Match(int start, int end, AddedToken token) {
    }

    private static final class Node {
        final Map<Character, Node> children = new HashMap<>();
        AddedToken token;
    }

    private final Node root = new Node();

    /** @param tokensByPattern the text each token is found by → the token */
    AddedTokenMatcher(Map<String, AddedToken> tokensByPattern) {
        tokensByPattern.forEach((pattern, token) -> {
            Node node = root;
            for (int i = 0; i < pattern.length(); i++) {
                node = node.children.computeIfAbsent(pattern.charAt(i), c -> new Node());
            }
            node.token = token;
        });
    }

    /** All matches, left to right; where several start at one place the longest wins. */
    List<Match> matches(String text) {
        List<Match> matches = new ArrayList<>();
        if (root.children.isEmpty()) {
            return matches;
        }
        int i = 0;
        while (i < text.length()) {
            Match match = longestAt(text, i);
            if (match == null) {
                i++;
            } else {
                matches.add(match);
                i = match.end();
            }
        }
        return matches;
    }

    private Match longestAt(String text, int start) {
        Match longest = null;
        Node node = root;
        for (int i = start; i < text.length(); i++) {
            node = node.children.get(text.charAt(i));
            if (node == null) {
                break;
            }
            if (node.token != null) {
                longest = new Match(start, i + 1, node.token);
            }
        }
        return longest;
    }
}
