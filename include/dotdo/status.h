// Status and Result<T>: how every public dotdo call reports failure. No exception leaves the public
// API; a call either succeeds or returns a typed code plus a message that tells the user what to do.
//
// Choosing a code (after absl/status/status.h):
//   kInvalidArgument     the input itself is wrong, whatever the state of the database.
//   kNotFound            the thing named does not exist (or is soft-deleted).
//   kAlreadyExists       a create found the key taken.
//   kFailedPrecondition  the state of the system forbids the call; retrying will not help until
//                        the state changes (e.g. an edge would create a forbidden cycle).
//   kAborted             a concurrency conflict (stale expected version, busy writer); retry the
//                        whole read-modify-write.
//   kResourceExhausted   a size or quota limit was hit.
//   kUnavailable         transient; retry later (database locked beyond the busy timeout).
//   kDataLoss            stored data is corrupt or unreadable.
//   kInternal            a bug or an invariant violation in dotdo.
//
// Thread-safety: Status and Result are values; const use from several threads is safe.
#pragma once

#include <cassert>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "dotdo/export.h"

namespace dotdo {

enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
};

DOTDO_EXPORT std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] DOTDO_EXPORT Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "NOT_FOUND: document Customer/42 does not exist"
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(std::string_view context) const;

  // Marks a Status as deliberately ignored.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

DOTDO_EXPORT std::ostream& operator<<(std::ostream& os, const Status& s);

inline Status OkStatus() { return Status(); }
inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status AbortedError(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DataLossError(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnimplementedError(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status OutOfRangeError(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status PermissionDeniedError(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }

// Result<T>: a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : v_(value) {}             // NOLINT(runtime/explicit)
  Result(T&& value) : v_(std::move(value)) {}       // NOLINT(runtime/explicit)
  Result(Status status) : v_(std::move(status)) {   // NOLINT(runtime/explicit)
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK status");
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result built from OK status");
  }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U&&, T> &&
                                                    !std::is_same_v<std::decay_t<U>, Status> &&
                                                    !std::is_same_v<std::decay_t<U>, T>>>
  Result(U&& value) : v_(T(std::forward<U>(value))) {}  // NOLINT(runtime/explicit)

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }

  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace dotdo

#define DOTDO_INTERNAL_CONCAT2(a, b) a##b
#define DOTDO_INTERNAL_CONCAT(a, b) DOTDO_INTERNAL_CONCAT2(a, b)

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define DOTDO_RETURN_IF_ERROR(expr)                         \
  do {                                                      \
    ::dotdo::Status dotdo_status_ = (expr);                 \
    if (!dotdo_status_.ok()) return dotdo_status_;          \
  } while (0)

// DOTDO_ASSIGN_OR_RETURN(auto x, ResultReturningCall());
#define DOTDO_ASSIGN_OR_RETURN(lhs, expr) \
  DOTDO_INTERNAL_ASSIGN_OR_RETURN(DOTDO_INTERNAL_CONCAT(dotdo_result_, __LINE__), lhs, expr)
#define DOTDO_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()
