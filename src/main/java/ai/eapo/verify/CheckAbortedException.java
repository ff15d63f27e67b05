package ai.eapo.verify;

/** A check gave up (time, depth or size bound); the verifier turns it into a 0.0 verdict with this message. */
final class CheckAbortedException extends RuntimeException {

    CheckAbortedException(String message) {
        super(message, null, false, false);
    }
}
