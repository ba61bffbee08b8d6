package org.flexllm.examples.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * Records the garbage collectors' stop-the-world pauses from their MXBeans' notifications while open. Only pause
 * collectors are heard: ZGC and Shenandoah also have a bean per concurrent cycle ({@code ZGC Major Cycles},
 * {@code Shenandoah Cycles}), whose durations are not pauses. Every other HotSpot bean reports pauses: G1's young,
 * old (full) and, since JDK 21, concurrent ones (its remark and cleanup pauses), Serial's and Parallel's.
 * Notifications come on a JVM service thread, a little after the pause; a pause is placed at the time it is
 * heard.
 */
public final class GcPauses implements AutoCloseable {
    private final Queue<GcPause> pauses = new ConcurrentLinkedQueue<>();
    private final List<NotificationEmitter> emitters;
    private final NotificationListener listener = this::onNotification;

    private GcPauses(List<NotificationEmitter> emitters) {
        this.emitters = emitters;
        emitters.forEach(e -> e.addNotificationListener(listener, null, null));
    }

    /** Starts listening to every pause collector of this JVM. */
    public static GcPauses listen() {
        return new GcPauses(pauseCollectors().stream().filter(NotificationEmitter.class::isInstance)
                .map(NotificationEmitter.class::cast).toList());
    }

    /** The collectors of this JVM whose collections are pauses. */
    public static List<GarbageCollectorMXBean> pauseCollectors() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream().filter(GcPauses::isPauseCollector).toList();
    }

    /** The names of {@link #pauseCollectors()}, comma-separated. */
    public static String pauseCollectorNames() {
        return String.join(", ", pauseCollectors().stream().map(GarbageCollectorMXBean::getName).toList());
    }

    /** Heap bytes allocated so far by every thread of this JVM, live or ended. */
    public static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getTotalThreadAllocatedBytes();
    }

    private static boolean isPauseCollector(GarbageCollectorMXBean bean) {
        return !bean.getName().endsWith(" Cycles");
    }

    private void onNotification(Notification n, Object handback) {
        if (n.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
            var info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
            pauses.add(new GcPause(info.getGcName(), System.nanoTime(), info.getGcInfo().getDuration()));
        }
    }

    /** The pauses heard so far between {@code fromNanos} and {@code toNanos} of {@link System#nanoTime()}. */
    public List<GcPause> between(long fromNanos, long toNanos) {
        return pauses.stream().filter(p -> p.heardNanos() >= fromNanos && p.heardNanos() <= toNanos).toList();
    }

    @Override
    public void close() {
        for (NotificationEmitter e : emitters) {
            try {
                e.removeNotificationListener(listener);
            } catch (ListenerNotFoundException ignored) {
                // Never added: nothing to remove.
            }
        }
    }
}
