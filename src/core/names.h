// Name grammars: one validator per kind of name a user gives us, so a type, relation type, record id
// or namespace is checked by the same rule and with the same message wherever it enters. Every
// grammar is ASCII-only and short, so names are safe as SQL values, file names and URL segments.
//
//   kind            grammar                                 where
//   type name       [A-Za-z_][A-Za-z0-9_]{0,127}            document $type, $store routes
//   node type       [A-Za-z][A-Za-z0-9_]{0,63}              the Type of a graph node id "Type/key"
//   relation type   [A-Za-z][A-Za-z0-9_.:-]{0,63}           graph edges
//   record id       [A-Za-z0-9_.:@~+=-]{1,128}              document $id
//   namespace       [A-Za-z0-9_-][A-Za-z0-9._-]{0,127}      Database (file <ns>.sqlite)
//
// Node types are narrower than type names (no leading '_', 64 bytes) because graph node ids were
// defined that way before the type-name grammar was shared; both grammars are kept as they are so
// that no store refuses a name it accepted before. A node type that is also a type name (every one
// that does not start with '_' and fits in 64 bytes) means the same type in every store.
//
// Thread-safety: pure functions over constant tables.
#pragma once

#include <cstddef>
#include <string_view>

#include "dotdo/status.h"

namespace dotdo::internal {

struct NameGrammar {
  std::string_view kind;        // "type name", the default `what` in messages
  std::string_view pattern;     // the grammar as a regular expression, quoted in messages
  size_t max_bytes;
  bool (*first)(char);          // the first character
  bool (*rest)(char);           // every other character
  std::string_view first_rule;  // "a letter or '_'"
  std::string_view rest_rule;   // "letters, digits and '_'"
};

extern const NameGrammar kTypeNameGrammar;
extern const NameGrammar kNodeTypeGrammar;
extern const NameGrammar kRelationTypeGrammar;
extern const NameGrammar kRecordIdGrammar;
extern const NameGrammar kNamespaceGrammar;

bool MatchesGrammar(const NameGrammar& grammar, std::string_view name);

// OK when `name` matches; else kInvalidArgument
// "invalid <what> '<name>': <why> (grammar <pattern>)", why one of "empty", "longer than <n>
// bytes", "must start with <first_rule>", "contains '<c>'; use only <rest_rule>".
Status ValidateName(const NameGrammar& grammar, std::string_view name, std::string_view what);

inline Status ValidateTypeName(std::string_view name, std::string_view what = kTypeNameGrammar.kind) {
  return ValidateName(kTypeNameGrammar, name, what);
}
inline Status ValidateNodeType(std::string_view name, std::string_view what = kNodeTypeGrammar.kind) {
  return ValidateName(kNodeTypeGrammar, name, what);
}
inline Status ValidateRelationType(std::string_view name, std::string_view what = kRelationTypeGrammar.kind) {
  return ValidateName(kRelationTypeGrammar, name, what);
}
inline Status ValidateRecordId(std::string_view name, std::string_view what = kRecordIdGrammar.kind) {
  return ValidateName(kRecordIdGrammar, name, what);
}
// The rule behind Database::ValidateNamespace (the public entry point).
inline Status ValidateNamespaceName(std::string_view name) {
  return ValidateName(kNamespaceGrammar, name, kNamespaceGrammar.kind);
}

}  // namespace dotdo::internal
