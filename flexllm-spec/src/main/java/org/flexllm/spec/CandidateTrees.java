package org.flexllm.spec;

import java.util.List;
import org.flexllm.speculation.Decoding;

/** Where the requests' candidate trees come from: a drafter per request, or one draft model for all. */
interface CandidateTrees extends AutoCloseable {
    /** Each request's candidate tree in heap order, rooted at its last token. */
    TokenTree[] grow(List<Decoding> requests);

    /** The request ended: what is kept for it may go. */
    default void finished(long requestId) {}

    @Override
    default void close() {}
}
