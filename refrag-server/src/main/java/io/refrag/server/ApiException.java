package io.refrag.server;

import io.refrag.core.exception.RefragException;

/**
 * A request the server answers with an error in OpenAI's shape: {@code {"error": {"message", "type", "param",
 * "code"}}} and an HTTP status.
 */
public class ApiException extends RefragException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;

    /**
     * @param status the HTTP status
     * @param type OpenAI's error type ({@code invalid_request_error}, {@code rate_limit_error}, ...)
     * @param param the request field at fault, or null
     * @param code a short machine-readable code, or null
     * @param message what was wrong and what is allowed
     */
    public ApiException(int status, String type, String param, String code, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /**
     * @param param the field at fault, or null
     * @param message what was wrong and what is allowed
     * @return a 400 {@code invalid_request_error}
     */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, null, message);
    }

    /** @return the HTTP status */
    public int status() {
        return status;
    }

    /** @return OpenAI's error type */
    public String type() {
        return type;
    }

    /** @return the field at fault, or null */
    public String param() {
        return param;
    }

    /** @return the machine-readable code, or null */
    public String code() {
        return code;
    }
}
