package org.flexllm.tokenizer;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.function.IntPredicate;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * The Python {@code str} methods chat templates call ({@code content.strip()}, {@code .split('</think>')},
 * {@code .startswith(...)}) and Jinjava does not know, since it exposes Java's {@code String} methods.
 * Resolves method calls only; property access falls through to Jinjava's own resolvers.
 */
final class PythonStringMethods extends ELResolver {
    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String text) || !(method instanceof String name)) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result = call(text, name, args);
        if (result != null) {
            context.setPropertyResolved(true);
        }
        return result;
    }

    /** The result of {@code text.name(args)}, or null when it is not one of the methods handled here. */
    private static Object call(String text, String name, Object[] args) {
        if (args.length > 1 || (args.length == 1 && !(args[0] instanceof String))) {
            return null;
        }
        String arg = args.length == 1 ? (String) args[0] : null;
        return switch (name) {
            case "strip" -> stripEnd(stripStart(text, stripped(arg)), stripped(arg));
            case "lstrip" -> stripStart(text, stripped(arg));
            case "rstrip" -> stripEnd(text, stripped(arg));
            case "startswith" -> arg == null ? null : text.startsWith(arg);
            case "endswith" -> arg == null ? null : text.endsWith(arg);
            case "split" -> arg == null ? splitOnWhitespace(text) : splitOn(text, arg);
            case "upper" -> args.length == 0 ? text.toUpperCase(Locale.ROOT) : null;
            case "lower" -> args.length == 0 ? text.toLowerCase(Locale.ROOT) : null;
            default -> null;
        };
    }

    /** The characters {@code strip(chars)} removes: those of {@code chars}, or whitespace without it. */
    private static IntPredicate stripped(String chars) {
        return chars == null ? PythonStringMethods::isPythonSpace : c -> chars.indexOf(c) >= 0;
    }

    private static boolean isPythonSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c);
    }

    private static String stripStart(String text, IntPredicate stripped) {
        int start = 0;
        while (start < text.length() && stripped.test(text.codePointAt(start))) {
            start += Character.charCount(text.codePointAt(start));
        }
        return text.substring(start);
    }

    private static String stripEnd(String text, IntPredicate stripped) {
        int end = text.length();
        while (end > 0 && stripped.test(text.codePointBefore(end))) {
            end -= Character.charCount(text.codePointBefore(end));
        }
        return text.substring(0, end);
    }

    /** Python's {@code split(sep)}: every occurrence separates, empty parts included. */
    private static List<String> splitOn(String text, String separator) {
        if (separator.isEmpty()) {
            return null;
        }
        List<String> parts = new ArrayList<>();
        int start = 0;
        for (int at = text.indexOf(separator); at >= 0; at = text.indexOf(separator, start)) {
            parts.add(text.substring(start, at));
            start = at + separator.length();
        }
        parts.add(text.substring(start));
        return parts;
    }

    /** Python's {@code split()}: runs of whitespace separate, and there are no empty parts. */
    private static List<String> splitOnWhitespace(String text) {
        return Arrays.stream(text.split("[\\s\\p{Z}]+")).filter(part -> !part.isEmpty()).toList();
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // Strings are immutable; assignments are left to the other resolvers, which reject them.
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
