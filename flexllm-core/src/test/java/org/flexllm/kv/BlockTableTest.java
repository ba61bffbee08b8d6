package org.flexllm.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random sequences of grow, truncate and release on several sequences' block tables sharing one allocator keep the
 * cache's invariants after every step: every block is free or held by exactly one table, never both, never twice; a
 * table holds exactly the blocks its positions need; releasing everything gives every block back. Expected sizes
 * come from a model of each sequence's length, not from the tables. Each seed is one sequence of 60 steps, with its
 * own block size and cache size; a failure names the seed and the steps so far.
 */
class BlockTableTest {
    private static final int SEQUENCES = 4;
    private static final int STEPS = 60;

    static LongStream seeds() {
        return LongStream.range(0, 300);
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void everyBlockIsFreeOrHeldByExactlyOneTable(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int blockSize = random.nextInt(1, 18);
        int capacity = random.nextInt(0, 41);
        BlockAllocator allocator = new BlockAllocator(capacity);
        List<BlockTable> tables = new ArrayList<>();
        int[] tokens = new int[SEQUENCES];
        for (int s = 0; s < SEQUENCES; s++) {
            tables.add(new BlockTable());
        }
        List<String> steps = new ArrayList<>();
        for (int step = 0; step < STEPS; step++) {
            int seq = random.nextInt(SEQUENCES);
            int length = random.nextInt(0, 121);
            BlockTable table = tables.get(seq);
            String where = "seed " + seed + " (block size " + blockSize + ", " + capacity + " blocks) after " + steps;
            switch (random.nextInt(3)) {
                case 0 -> {
                    int missing = Math.max(0, blocksFor(Math.max(tokens[seq], length), blockSize) - table.size());
                    assertEquals(missing, table.missingFor(length, blockSize), where);
                    if (missing <= allocator.free()) {
                        table.growTo(length, blockSize, allocator);
                        tokens[seq] = Math.max(tokens[seq], length);
                    }
                    steps.add("grow " + seq + " to " + length);
                }
                case 1 -> {
                    table.truncateTo(length, blockSize, allocator);
                    tokens[seq] = Math.min(tokens[seq], length);
                    steps.add("truncate " + seq + " to " + length);
                }
                default -> {
                    table.releaseAll(allocator);
                    tokens[seq] = 0;
                    steps.add("release " + seq);
                }
            }
            checkInvariants(allocator, tables, tokens, blockSize, capacity, where + " + " + steps.getLast());
        }
        tables.forEach(t -> t.releaseAll(allocator));
        assertEquals(capacity, allocator.free(), "seed " + seed);
        Set<Integer> handedOut = new HashSet<>();
        for (int i = 0; i < capacity; i++) {
            handedOut.add(allocator.allocate());
        }
        assertEquals(capacity, handedOut.size(), "seed " + seed + ": after a full release every block is handed out once");
    }

    private static void checkInvariants(BlockAllocator allocator, List<BlockTable> tables, int[] tokens, int blockSize,
                                        int capacity, String where) {
        Set<Integer> held = new HashSet<>();
        for (int s = 0; s < SEQUENCES; s++) {
            BlockTable table = tables.get(s);
            assertEquals(blocksFor(tokens[s], blockSize), table.size(), where + ": blocks of sequence " + s);
            for (int i = 0; i < table.size(); i++) {
                int block = table.blocks()[i];
                assertTrue(block >= 0 && block < capacity, where + ": block id " + block);
                assertTrue(held.add(block), where + ": block " + block + " is held twice");
            }
        }
        assertEquals(capacity, allocator.free() + held.size(), where + ": free + held = capacity");
        // What the allocator offers is what no table holds: take every free block, then give them back in order.
        List<Integer> offered = new ArrayList<>();
        while (allocator.free() > 0) {
            offered.add(allocator.allocate());
        }
        offered.reversed().forEach(allocator::release);
        for (int block : offered) {
            assertFalse(held.contains(block), where + ": block " + block + " is both held and free");
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
