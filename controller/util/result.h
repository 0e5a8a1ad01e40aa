#pragma once
// Failures as values: the controller's components (agent client, machinery, capture) return
// Result<T> from every operation that can fail on hostile or unavailable input, and the command
// line turns the Error into a message and an exit code.

#include <optional>
#include <string>
#include <utility>

namespace botscope::util {

/// What went wrong: a stable machine-readable `code` (each component documents its codes) and a
/// message for people.
struct Error {
    std::string code;
    std::string message;
    std::string text() const { return code + ": " + message; }
};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T v) : v_(std::move(v)) {}
    Result(Error e) : e_(std::move(e)) {}
    bool ok() const { return v_.has_value(); }
    explicit operator bool() const { return ok(); }
    T& value() { return *v_; }
    const T& value() const { return *v_; }
    T* operator->() { return &*v_; }
    const T* operator->() const { return &*v_; }
    const Error& error() const { return e_; }

private:
    std::optional<T> v_;
    Error e_;
};

/// The value of an operation that returns nothing but can fail.
struct Done {};

}  // namespace botscope::util
