package org.flexllm.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DraftSpecTest {
    @Test
    void readsEveryForm() {
        assertEquals(new DraftSpec.Ngram(3), DraftSpec.parse("ngram"));
        assertEquals(new DraftSpec.Ngram(5), DraftSpec.parse("ngram:5"));
        assertEquals(new DraftSpec.Oracle(0.7), DraftSpec.parse("oracle:0.7"));
        assertEquals(new DraftSpec.Oracle(1), DraftSpec.parse(" oracle:1 "));
        assertEquals(new DraftSpec.Layers(2), DraftSpec.parse("layers:2"));
        assertEquals(new DraftSpec.Model(Path.of("/models/tiny-draft")), DraftSpec.parse("/models/tiny-draft"));
        assertEquals(new DraftSpec.Model(Path.of("draft")), DraftSpec.parse("draft"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"oracle:0", "oracle:-0.1", "oracle:1.5", "oracle:NaN", "oracle:abc", "oracle:", "oracle",
        "layers:0", "layers:-2", "layers:x", "layers:1.5", "layers", "ngram:0", "", "  "})
    void rejectsBadSpecsClearly(String spec) {
        InvalidSpeculationException e = assertThrows(InvalidSpeculationException.class, () -> DraftSpec.parse(spec));
        assertTrue(e.getMessage().contains("oracle:ALPHA") || e.getMessage().contains("N >= 1")
                || e.getMessage().contains("ALPHA in (0, 1]"), e.getMessage());
    }

    @Test
    void policiesParseByName() {
        assertEquals(SpecPolicy.ADASERVE, SpecPolicy.parse("AdaServe"));
        assertEquals(SpecPolicy.NONE, SpecPolicy.parse("none"));
        assertEquals("chain", SpecPolicy.CHAIN.cliName());
        assertTrue(SpecPolicy.TREE.speculates() && !SpecPolicy.TREE.selects() && SpecPolicy.ADASERVE.selects());
        InvalidSpeculationException e = assertThrows(InvalidSpeculationException.class,
                () -> SpecPolicy.parse("medusa"));
        assertTrue(e.getMessage().contains("none, chain, tree or adaserve"));
    }

    @Test
    void treeShapesAreChecked() {
        assertEquals(new TreeShape(1, 4, 1), TreeShape.chain(4));
        assertEquals(new TreeShape(3, 2, 3), TreeShape.tree(3, 2));
        assertEquals(7, TreeShape.tree(3, 2).maxNodes());
        assertThrows(InvalidSpeculationException.class, () -> TreeShape.chain(0));
        assertThrows(InvalidSpeculationException.class, () -> new TreeShape(2, 2, 0));
    }
}
