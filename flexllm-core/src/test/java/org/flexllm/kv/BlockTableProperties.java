package org.flexllm.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Random sequences of grow, truncate and release on several sequences' block tables sharing one allocator keep the
 * cache's invariants: every block is free or held by exactly one table, never both, never twice; a table holds
 * exactly the blocks its positions need; releasing everything gives every block back. Expected sizes come from a
 * model of each sequence's length, not from the tables.
 */
class BlockTableProperties {
    private static final int SEQUENCES = 4;

    /** One step: {@code kind} 0 grows sequence {@code seq} to {@code tokens}, 1 truncates it, 2 releases it. */
    record Op(int kind, int seq, int tokens) {}

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> op = Combinators.combine(Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, SEQUENCES - 1), Arbitraries.integers().between(0, 120)).as(Op::new);
        return op.list().ofMaxSize(60);
    }

    @Property(tries = 300)
    void everyBlockIsFreeOrHeldByExactlyOneTable(@ForAll("ops") List<Op> ops,
                                                  @ForAll @IntRange(min = 1, max = 17) int blockSize,
                                                  @ForAll @IntRange(min = 0, max = 40) int capacity) {
        BlockAllocator allocator = new BlockAllocator(capacity);
        List<BlockTable> tables = new ArrayList<>();
        int[] tokens = new int[SEQUENCES];
        for (int s = 0; s < SEQUENCES; s++) {
            tables.add(new BlockTable());
        }
        for (Op op : ops) {
            BlockTable table = tables.get(op.seq());
            switch (op.kind()) {
                case 0 -> {
                    int needed = blocksFor(Math.max(tokens[op.seq()], op.tokens()), blockSize);
                    assertEquals(Math.max(0, needed - table.size()), table.missingFor(op.tokens(), blockSize));
                    if (table.missingFor(op.tokens(), blockSize) <= allocator.free()) {
                        table.growTo(op.tokens(), blockSize, allocator);
                        tokens[op.seq()] = Math.max(tokens[op.seq()], op.tokens());
                    }
                }
                case 1 -> {
                    table.truncateTo(op.tokens(), blockSize, allocator);
                    tokens[op.seq()] = Math.min(tokens[op.seq()], op.tokens());
                }
                default -> {
                    table.releaseAll(allocator);
                    tokens[op.seq()] = 0;
                }
            }
            checkInvariants(allocator, tables, tokens, blockSize, capacity);
        }
        tables.forEach(t -> t.releaseAll(allocator));
        assertEquals(capacity, allocator.free());
        Set<Integer> handedOut = new HashSet<>();
        for (int i = 0; i < capacity; i++) {
            handedOut.add(allocator.allocate());
        }
        assertEquals(capacity, handedOut.size(), "after a full release every block is handed out once");
    }

    private static void checkInvariants(BlockAllocator allocator, List<BlockTable> tables, int[] tokens, int blockSize,
                                        int capacity) {
        Set<Integer> held = new HashSet<>();
        int heldCount = 0;
        for (int s = 0; s < SEQUENCES; s++) {
            BlockTable table = tables.get(s);
            assertEquals(blocksFor(tokens[s], blockSize), table.size(), "sequence " + s + " of " + tokens[s] + " tokens");
            for (int i = 0; i < table.size(); i++) {
                int block = table.blocks()[i];
                assertTrue(block >= 0 && block < capacity, "block id " + block + " of " + capacity);
                assertTrue(held.add(block), "block " + block + " is held twice");
            }
            heldCount += table.size();
        }
        assertEquals(capacity, allocator.free() + heldCount, "free + held = capacity");
        // What the allocator offers is what no table holds: take every free block, then give them back in order.
        List<Integer> offered = new ArrayList<>();
        while (allocator.free() > 0) {
            offered.add(allocator.allocate());
        }
        offered.reversed().forEach(allocator::release);
        for (int block : offered) {
            assertTrue(!held.contains(block), "block " + block + " is both held and free");
        }
    }

    /** Blocks for {@code tokens} positions, counted the long way. */
    private static int blocksFor(int tokens, int blockSize) {
        int blocks = 0;
        for (int covered = 0; covered < tokens; covered += blockSize) {
            blocks++;
        }
        return blocks;
    }
}
