// The grammar tables of core/names.h and the one matcher and message they share.
#include "core/names.h"

#include <string>

#include "core/encoding.h"

namespace dotdo::internal {

namespace {

bool IsAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool TypeStart(char c) { return IsAlpha(c) || c == '_'; }
bool TypeChar(char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; }
bool RelationChar(char c) { return TypeChar(c) || c == '.' || c == ':' || c == '-'; }
bool IdChar(char c) {
  return IsAlpha(c) || IsDigit(c) || c == '_' || c == '.' || c == ':' || c == '@' || c == '~' || c == '+' || c == '=' ||
         c == '-';
}
bool NamespaceStart(char c) { return IsAlpha(c) || IsDigit(c) || c == '_' || c == '-'; }
bool NamespaceChar(char c) { return NamespaceStart(c) || c == '.'; }

}  // namespace

const NameGrammar kTypeNameGrammar{"type name",
                                   "[A-Za-z_][A-Za-z0-9_]{0,127}",
                                   128,
                                   TypeStart,
                                   TypeChar,
                                   "a letter or '_'",
                                   "letters, digits and '_'"};
const NameGrammar kNodeTypeGrammar{"node type",
                                   "[A-Za-z][A-Za-z0-9_]{0,63}",
                                   64,
                                   IsAlpha,
                                   TypeChar,
                                   "a letter",
                                   "letters, digits and '_'"};
const NameGrammar kRelationTypeGrammar{"relation type",
                                       "[A-Za-z][A-Za-z0-9_.:-]{0,63}",
                                       64,
                                       IsAlpha,
                                       RelationChar,
                                       "a letter",
                                       "letters, digits and _ . : -"};
const NameGrammar kRecordIdGrammar{"record id",
                                   "[A-Za-z0-9_.:@~+=-]{1,128}",
                                   128,
                                   IdChar,
                                   IdChar,
                                   "a letter, digit or one of _ . : @ ~ + = -",
                                   "letters, digits and _ . : @ ~ + = -"};
const NameGrammar kNamespaceGrammar{"namespace name",
                                    "[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}",
                                    128,
                                    NamespaceStart,
                                    NamespaceChar,
                                    "a letter, digit, '_' or '-' (not '.')",
                                    "letters, digits, '.', '_' and '-'"};

bool MatchesGrammar(const NameGrammar& g, std::string_view name) {
  if (name.empty() || name.size() > g.max_bytes || !g.first(name[0])) return false;
  for (char c : name.substr(1))
    if (!g.rest(c)) return false;
  return true;
}

Status ValidateName(const NameGrammar& g, std::string_view name, std::string_view what) {
  if (MatchesGrammar(g, name)) return OkStatus();
  std::string why;
  if (name.empty()) {
    why = "empty";
  } else if (name.size() > g.max_bytes) {
    why = "longer than " + std::to_string(g.max_bytes) + " bytes";
  } else if (!g.first(name[0])) {
    why = "must start with " + std::string(g.first_rule);
  } else {
    for (char c : name.substr(1)) {
      if (!g.rest(c)) {
        why = "contains '" + Printable(std::string_view(&c, 1)) + "'; use only " + std::string(g.rest_rule);
        break;
      }
    }
  }
  return InvalidArgumentError("invalid " + std::string(what) + " '" + Printable(name, 80) + "': " + why +
                              " (grammar " + std::string(g.pattern) + ")");
}

}  // namespace dotdo::internal
