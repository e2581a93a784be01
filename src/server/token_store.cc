// TokenStore: the server's bearer tokens in <data>/auth/tokens.sqlite. A token is
// "dd_<id>_<secret>" (id: 8 random bytes as hex, secret: 32 random bytes as hex); the table keeps
// the id, the scope and the hex SHA-256 of the whole token, never the token.
//
// Invariants:
//   1. A token authenticates iff its id has a row and the SHA-256 of the presented token equals the
//      row's hash, compared with CRYPTO_memcmp (constant time); an unknown id still hashes and
//      compares against a dummy so that timing does not tell which ids exist.
//   2. Revoke deletes the row: the next request with that token is refused.
#include <openssl/crypto.h>
#include <sys/stat.h>

#include <chrono>
#include <mutex>

#include "core/names.h"
#include "core/sha256.h"
#include "dotdo/clock.h"
#include "dotdo/database.h"
#include "dotdo/server.h"
#include "sqlite/connection.h"

namespace dotdo {

namespace {
constexpr std::string_view kPrefix = "dd_";
constexpr size_t kIdHex = 16, kSecretHex = 64;
constexpr size_t kMaxLabel = 200;
}  // namespace

std::string_view TokenRoleName(TokenRole role) {
  switch (role) {
    case TokenRole::kRead: return "read";
    case TokenRole::kWrite: return "write";
    case TokenRole::kAdmin: return "admin";
  }
  return "read";
}

Result<TokenRole> ParseTokenRole(std::string_view text) {
  if (text == "read") return TokenRole::kRead;
  if (text == "write") return TokenRole::kWrite;
  if (text == "admin") return TokenRole::kAdmin;
  return InvalidArgumentError("role must be read, write or admin, got '" + std::string(text) + "'");
}

Json TokenInfoToJson(const TokenInfo& info) {
  return Json{{"id", info.id},
              {"ns", info.ns},
              {"role", TokenRoleName(info.role)},
              {"label", info.label},
              {"createdAt", FormatIso8601(info.created_at)}};
}

class TokenStore::Impl {
 public:
  std::unique_ptr<internal::Connection> conn;
  std::mutex mu;  // one statement sequence at a time
  // Any()'s answer, asked of SQLite at most once per kAnyTtl (the server asks on every request
  // without a token); Create/Revoke here invalidate it, another process's within kAnyTtl.
  static constexpr auto kAnyTtl = std::chrono::milliseconds(1000);
  bool any = false;                               // GUARDED_BY(mu)
  std::chrono::steady_clock::time_point any_at;   // GUARDED_BY(mu); epoch = unknown
};

TokenStore::TokenStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TokenStore::~TokenStore() = default;

Result<std::unique_ptr<TokenStore>> TokenStore::Open(const std::filesystem::path& data_dir) {
  const auto dir = data_dir / "auth";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return UnavailableError("cannot create '" + dir.string() + "': " + ec.message());
  ::chmod(dir.c_str(), 0700);
  const auto file = dir / "tokens.sqlite";
  const mode_t old_mask = ::umask(077);  // the file and its -wal/-shm are the owner's only
  auto conn = internal::Connection::Open(file.string(), {});
  ::umask(old_mask);
  if (!conn.ok()) return conn.status();
  DOTDO_RETURN_IF_ERROR((*conn)->Exec(
      "CREATE TABLE IF NOT EXISTS auth_tokens (id TEXT PRIMARY KEY, ns TEXT NOT NULL, role TEXT NOT NULL, "
      "label TEXT NOT NULL, hash TEXT NOT NULL, created_at INTEGER NOT NULL) STRICT"));
  auto impl = std::make_unique<Impl>();
  impl->conn = std::move(*conn);
  return std::unique_ptr<TokenStore>(new TokenStore(std::move(impl)));
}

Result<TokenStore::Created> TokenStore::Create(std::string_view ns, TokenRole role, std::string_view label) {
  if (ns != "*") DOTDO_RETURN_IF_ERROR(Database::ValidateNamespace(ns));
  if (label.size() > kMaxLabel) return InvalidArgumentError("label is longer than 200 bytes");
  Created out;
  out.info = {.id = internal::RandomHex(kIdHex / 2), .ns = std::string(ns), .role = role,
              .label = std::string(label), .created_at = SystemClock::Default()->NowMillis()};
  out.token = std::string(kPrefix) + out.info.id + "_" + internal::RandomHex(kSecretHex / 2);
  std::lock_guard lock(impl_->mu);
  DOTDO_ASSIGN_OR_RETURN(auto st, impl_->conn->Prepare(
      "INSERT INTO auth_tokens (id, ns, role, label, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  st.BindAll(out.info.id, out.info.ns, std::string(TokenRoleName(role)), out.info.label,
             internal::Sha256::Hex(out.token), out.info.created_at);
  DOTDO_RETURN_IF_ERROR(st.Run());
  impl_->any_at = {};
  return out;
}

namespace {
Result<TokenInfo> RowToInfo(const internal::Statement& st) {
  TokenInfo info{.id = st.ColumnString(0), .ns = st.ColumnString(1), .label = st.ColumnString(3),
                 .created_at = st.ColumnInt64(4)};
  auto role = ParseTokenRole(st.ColumnText(2));
  if (!role.ok()) return DataLossError("token " + info.id + " has an unknown role");
  info.role = *role;
  return info;
}
}  // namespace

Result<std::vector<TokenInfo>> TokenStore::List() {
  std::lock_guard lock(impl_->mu);
  DOTDO_ASSIGN_OR_RETURN(auto st, impl_->conn->Prepare(
      "SELECT id, ns, role, label, created_at FROM auth_tokens ORDER BY created_at, id"));
  std::vector<TokenInfo> out;
  while (true) {
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    DOTDO_ASSIGN_OR_RETURN(auto info, RowToInfo(st));
    out.push_back(std::move(info));
  }
  return out;
}

Status TokenStore::Revoke(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  DOTDO_ASSIGN_OR_RETURN(auto st, impl_->conn->Prepare("DELETE FROM auth_tokens WHERE id = ?1"));
  st.BindAll(std::string(id));
  DOTDO_RETURN_IF_ERROR(st.Run());
  impl_->any_at = {};
  if (impl_->conn->Changes() == 0) return NotFoundError("no token with id '" + std::string(id) + "'");
  return OkStatus();
}

Result<TokenInfo> TokenStore::Authenticate(std::string_view token) {
  const std::string hash = internal::Sha256::Hex(token);
  std::string id;
  if (token.size() == kPrefix.size() + kIdHex + 1 + kSecretHex && token.substr(0, kPrefix.size()) == kPrefix &&
      token[kPrefix.size() + kIdHex] == '_') {
    id = std::string(token.substr(kPrefix.size(), kIdHex));
  }
  std::lock_guard lock(impl_->mu);
  DOTDO_ASSIGN_OR_RETURN(auto st, impl_->conn->Prepare(
      "SELECT id, ns, role, label, created_at, hash FROM auth_tokens WHERE id = ?1"));
  st.BindAll(id);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  const std::string stored = row ? st.ColumnString(5) : std::string(hash.size(), '0');
  const bool equal = stored.size() == hash.size() && CRYPTO_memcmp(stored.data(), hash.data(), hash.size()) == 0;
  if (!row || !equal) return NotFoundError("unknown or revoked token");
  return RowToInfo(st);
}

Result<bool> TokenStore::Any() {
  std::lock_guard lock(impl_->mu);
  const auto now = std::chrono::steady_clock::now();
  if (impl_->any_at != std::chrono::steady_clock::time_point{} && now - impl_->any_at < Impl::kAnyTtl) return impl_->any;
  DOTDO_ASSIGN_OR_RETURN(auto st, impl_->conn->Prepare("SELECT EXISTS (SELECT 1 FROM auth_tokens)"));
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  impl_->any = row && st.ColumnInt64(0) != 0;
  impl_->any_at = now;
  return impl_->any;
}

}  // namespace dotdo
