package ai.eapo;

/**
 * A problem with something the user gave us (a file, a flag, a config value): the message names the
 * place and the value and is meant to be printed as one line, without a stack trace.
 */
public class UserInputException extends RuntimeException {
    public UserInputException(String message) {
        super(message);
    }

    public UserInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
