// Bloom filter and min/max maintenance and lookup for configured (type, path) pairs.
//
// The bloom filter is blocked (Putze, Sanders, Singler 2007): a key's first hash picks one 512-bit
// block, its second hash sets 7 bits inside that block. One write touches one 64-byte row of
// doc_bloom, and a lookup reads one row.
#include "document/document_stats.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/mql_match.h"

namespace dotdo::internal {
namespace {

constexpr size_t kBlockBytes = 64;  // 512 bits
constexpr int kBitsPerKey = 7;
constexpr uint64_t kSeedBits = 0x9E3779B97F4A7C15ull;

struct BloomPos {
  int64_t block;
  uint64_t h2;
};

BloomPos PositionOf(const std::string& key, int64_t blocks) {
  uint64_t h1 = XXH3_64bits_withSeed(key.data(), key.size(), 0);
  uint64_t h2 = XXH3_64bits_withSeed(key.data(), key.size(), kSeedBits);
  return {static_cast<int64_t>(h1 % static_cast<uint64_t>(blocks)), h2};
}

// Sets the key's bits in `block`; true when something changed.
bool SetBits(std::string& block, uint64_t h2) {
  bool changed = false;
  for (int i = 0; i < kBitsPerKey; ++i) {
    unsigned bit = static_cast<unsigned>((h2 >> (i * 9)) & 511u);
    auto& byte = reinterpret_cast<unsigned char&>(block[bit / 8]);
    unsigned char mask = static_cast<unsigned char>(1u << (bit % 8));
    if (!(byte & mask)) {
      byte |= mask;
      changed = true;
    }
  }
  return changed;
}

bool HasBits(std::string_view block, uint64_t h2) {
  if (block.size() != kBlockBytes) return true;  // unknown layout: never claim absence
  for (int i = 0; i < kBitsPerKey; ++i) {
    unsigned bit = static_cast<unsigned>((h2 >> (i * 9)) & 511u);
    if (!(static_cast<unsigned char>(block[bit / 8]) & (1u << (bit % 8)))) return false;
  }
  return true;
}

// The bloom key of a number: equal for values SQLite compares equal, whatever their JSON spelling.
// SQLite sees a JSON integer that fits int64 as that integer and every other number (a fraction, an
// exponent, an integer beyond int64) as a double, and compares an integer with a double exactly.
// So an integral double in int64's range keys as that integer; any other double by its shortest
// round-trip text.
constexpr double kTwoTo63 = 9223372036854775808.0;

std::string IntegerKey(int64_t i) { return "n:" + std::to_string(i); }

std::string NumberKey(double d) {
  if (std::nearbyint(d) == d && d >= -kTwoTo63 && d < kTwoTo63) return IntegerKey(static_cast<int64_t>(d));
  char buf[40];
  std::snprintf(buf, sizeof buf, "r:%.17g", d);
  return buf;
}

Status WriteBlock(Connection& conn, std::string_view type, const std::string& path, int64_t block,
                  const std::string& bits) {
  DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("INSERT INTO doc_bloom(type, path, block, bits) VALUES (?1, ?2, ?3, ?4) "
                                               "ON CONFLICT(type, path, block) DO UPDATE SET bits = excluded.bits"));
  up.Bind(1, type).Bind(2, path).Bind(3, block).BindBlob(4, bits);
  return up.Run();
}

}  // namespace

std::optional<StatValue> StatValueOf(const Json& v) {
  StatValue s;
  if (v.is_boolean()) {
    s.is_number = true;
    s.number = v.get<bool>() ? 1 : 0;
  } else if (v.is_number_integer() && !v.is_number_unsigned()) {
    auto i = v.get<int64_t>();
    s.is_number = true;
    s.number = static_cast<double>(i);
    s.exact = s.number >= -kTwoTo63 && s.number < kTwoTo63 && static_cast<int64_t>(s.number) == i;
    s.bloom_key = IntegerKey(i);
    return s;
  } else if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    s.is_number = true;
    s.number = static_cast<double>(u);
    s.exact = u < (1ull << 53);
    // Above int64 SQLite reads the number as a double.
    s.bloom_key = u <= static_cast<uint64_t>(INT64_MAX) ? IntegerKey(static_cast<int64_t>(u)) : NumberKey(s.number);
    return s;
  } else if (v.is_number_float()) {
    s.is_number = true;
    s.number = v.get<double>();
    if (!std::isfinite(s.number)) return std::nullopt;
  } else if (v.is_string()) {
    s.text = v.get<std::string>();
    s.bloom_key = "s:" + s.text;
    return s;
  } else {
    return std::nullopt;
  }
  s.bloom_key = NumberKey(s.number);
  return s;
}

Result<std::optional<PathStats>> LoadStats(Database& db, std::string_view type, const std::string& path) {
  Connection& conn = DatabaseInternals::Conn(db);
  DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT blocks, min_num, max_num, min_str, max_str FROM doc_stats "
                                               "WHERE type = ?1 AND path = ?2"));
  st.Bind(1, type).Bind(2, path);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<PathStats>();
  PathStats p;
  p.blocks = st.ColumnInt64(0);
  if (!st.IsNull(1)) p.min_num = st.ColumnDouble(1);
  if (!st.IsNull(2)) p.max_num = st.ColumnDouble(2);
  p.min_str = st.ColumnOptionalText(3);
  p.max_str = st.ColumnOptionalText(4);
  return std::optional<PathStats>(std::move(p));
}

Result<bool> BloomMayContain(Database& db, std::string_view type, const std::string& path, int64_t blocks,
                             const std::string& key) {
  if (blocks <= 0) return true;
  BloomPos pos = PositionOf(key, blocks);
  DOTDO_ASSIGN_OR_RETURN(auto st, DatabaseInternals::Conn(db).Prepare(
                                      "SELECT bits FROM doc_bloom WHERE type = ?1 AND path = ?2 AND block = ?3"));
  st.Bind(1, type).Bind(2, path).Bind(3, pos.block);
  DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return false;
  return HasBits(st.ColumnBlob(0), pos.h2);
}

namespace {

// Widens min/max with `v` and sets its bloom bits; writes only what changed.
Status RecordValue(Connection& conn, std::string_view type, const std::string& path, const PathStats& stats,
                   const StatValue& v, int64_t now) {
  if (v.is_number) {
    // Inexact numbers widen outwards by one ulp so the stored bounds stay conservative.
    double lo = v.exact ? v.number : std::nextafter(v.number, -std::numeric_limits<double>::infinity());
    double hi = v.exact ? v.number : std::nextafter(v.number, std::numeric_limits<double>::infinity());
    if (!stats.min_num || lo < *stats.min_num || !stats.max_num || hi > *stats.max_num) {
      DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("UPDATE doc_stats SET min_num = ?3, max_num = ?4, updated_at = ?5 "
                                                   "WHERE type = ?1 AND path = ?2"));
      up.Bind(1, type).Bind(2, path).Bind(3, stats.min_num ? std::min(*stats.min_num, lo) : lo);
      up.Bind(4, stats.max_num ? std::max(*stats.max_num, hi) : hi).Bind(5, now);
      DOTDO_RETURN_IF_ERROR(up.Run());
    }
  } else if (!stats.min_str || v.text < *stats.min_str || !stats.max_str || v.text > *stats.max_str) {
    DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare("UPDATE doc_stats SET min_str = ?3, max_str = ?4, updated_at = ?5 "
                                                 "WHERE type = ?1 AND path = ?2"));
    up.Bind(1, type).Bind(2, path);
    up.Bind(3, stats.min_str && *stats.min_str < v.text ? *stats.min_str : v.text);
    up.Bind(4, stats.max_str && *stats.max_str > v.text ? *stats.max_str : v.text).Bind(5, now);
    DOTDO_RETURN_IF_ERROR(up.Run());
  }
  if (stats.blocks <= 0) return OkStatus();  // no bloom filter until ConfigureStats rebuilds it
  BloomPos pos = PositionOf(v.bloom_key, stats.blocks);
  std::string bits(kBlockBytes, '\0');
  {
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.Prepare("SELECT bits FROM doc_bloom WHERE type = ?1 AND path = ?2 AND block = ?3"));
    st.Bind(1, type).Bind(2, path).Bind(3, pos.block);
    DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row && st.ColumnBlob(0).size() == kBlockBytes) bits = std::string(st.ColumnBlob(0));
  }
  if (SetBits(bits, pos.h2)) DOTDO_RETURN_IF_ERROR(WriteBlock(conn, type, path, pos.block, bits));
  return OkStatus();
}

// "$.<first segment>" as a SQLite JSON path (bound, not pasted).
std::string FirstSegmentPath(const JsonPath& path) {
  const auto& seg = path.segments().front();
  const std::string first = std::holds_alternative<std::string>(seg) ? std::get<std::string>(seg)
                                                                     : std::to_string(std::get<int64_t>(seg));
  return JsonPath::Parse(first)->ToSqlite();
}

}  // namespace

// The recordable values a path reaches in a document, as filters see them (core/mql_match.h):
// through arrays, and each element of an array value.
std::vector<StatValue> RecordableValues(const Json& doc, const JsonPath& path) {
  std::vector<StatValue> out;
  auto add = [&](const Json& v) {
    if (std::optional<StatValue> sv = StatValueOf(v)) out.push_back(std::move(*sv));
  };
  ForEachPathValue(doc, path, [&](const Json* v) {
    if (v == nullptr) return;
    add(*v);
    if (v->is_array())
      for (const Json& e : *v) add(e);
  });
  return out;
}

Result<bool> StatsExclude(const PrunableTerm& t, const PathStats& stats,
                          const std::function<Result<bool>(const std::string& bloom_key)>& may_contain) {
  const auto& lo = stats.min_num;
  const auto& hi = stats.max_num;
  const auto& slo = stats.min_str;
  const auto& shi = stats.max_str;
  for (const Json& v : t.values) {
    std::optional<StatValue> sv = StatValueOf(v);
    if (!sv || (sv->is_number && !sv->exact)) return false;
    bool outside = false;
    switch (t.op) {
      case PrunableTerm::Op::kEq:
      case PrunableTerm::Op::kIn:
        if (sv->is_number) outside = !lo || sv->number < *lo || sv->number > *hi;
        else outside = !slo || sv->text < *slo || sv->text > *shi;
        if (!outside) {
          DOTDO_ASSIGN_OR_RETURN(bool may, may_contain(sv->bloom_key));
          outside = !may;
        }
        break;
      case PrunableTerm::Op::kGt:
        outside = sv->is_number ? (!hi || *hi <= sv->number) : (!shi || *shi <= sv->text);
        break;
      case PrunableTerm::Op::kGte:
        outside = sv->is_number ? (!hi || *hi < sv->number) : (!shi || *shi < sv->text);
        break;
      case PrunableTerm::Op::kLt:
        outside = sv->is_number ? (!lo || *lo >= sv->number) : (!slo || *slo >= sv->text);
        break;
      case PrunableTerm::Op::kLte:
        outside = sv->is_number ? (!lo || *lo > sv->number) : (!slo || *slo > sv->text);
        break;
    }
    if (!outside) return false;
  }
  return true;
}

Status RecordStats(Database& db, std::string_view type, const Json& doc) {
  DOTDO_ASSIGN_OR_RETURN(DocumentState * state, DocumentState::Of(db));
  DOTDO_ASSIGN_OR_RETURN(const std::vector<std::string>* paths, state->StatsPaths(type));
  if (paths->empty()) return OkStatus();
  Connection& conn = DatabaseInternals::Conn(db);
  for (const std::string& dotted : *paths) {
    DOTDO_ASSIGN_OR_RETURN(JsonPath path, JsonPath::Parse(dotted));
    for (const StatValue& sv : RecordableValues(doc, path)) {
      DOTDO_ASSIGN_OR_RETURN(auto stats, LoadStats(db, type, dotted));
      if (!stats) break;  // configuration rolled back since the cache was filled
      DOTDO_RETURN_IF_ERROR(RecordValue(conn, type, dotted, *stats, sv, db.NowMillis()));
    }
  }
  return OkStatus();
}

Status RebuildStats(Database& db, std::string_view type, const FieldRef& field, int64_t blocks) {
  Connection& conn = DatabaseInternals::Conn(db);
  const std::string dotted = field.path->ToDotted();
  const int64_t now = db.NowMillis();
  {
    DOTDO_ASSIGN_OR_RETURN(auto del, conn.Prepare("DELETE FROM doc_bloom WHERE type = ?1 AND path = ?2"));
    del.Bind(1, type).Bind(2, dotted);
    DOTDO_RETURN_IF_ERROR(del.Run());
  }
  PathStats stats;
  stats.blocks = blocks;
  std::map<int64_t, std::string> bloom;
  {
    // Only documents with something at the first segment can hold a value; each is read whole,
    // since the path may cross arrays.
    DOTDO_ASSIGN_OR_RETURN(auto st, conn.PrepareUncached("SELECT json(data) FROM doc_documents WHERE type = ?1 AND "
                                                         "deleted = 0 AND json_type(data, ?2) IS NOT NULL"));
    st.Bind(1, type).Bind(2, FirstSegmentPath(*field.path));
    for (;;) {
      DOTDO_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      DOTDO_ASSIGN_OR_RETURN(Json doc, ParseStoredDocument(st.ColumnText(0), "a stored document"));
      for (const StatValue& value : RecordableValues(doc, *field.path)) {
      const StatValue* sv = &value;
      if (sv->is_number) {
        double lo = sv->exact ? sv->number : std::nextafter(sv->number, -std::numeric_limits<double>::infinity());
        double hi = sv->exact ? sv->number : std::nextafter(sv->number, std::numeric_limits<double>::infinity());
        stats.min_num = stats.min_num ? std::min(*stats.min_num, lo) : lo;
        stats.max_num = stats.max_num ? std::max(*stats.max_num, hi) : hi;
      } else {
        if (!stats.min_str || sv->text < *stats.min_str) stats.min_str = sv->text;
        if (!stats.max_str || sv->text > *stats.max_str) stats.max_str = sv->text;
      }
      BloomPos pos = PositionOf(sv->bloom_key, blocks);
      std::string& bits = bloom[pos.block];
      if (bits.empty()) bits.assign(kBlockBytes, '\0');
      SetBits(bits, pos.h2);
      }
    }
  }
  DOTDO_ASSIGN_OR_RETURN(auto up, conn.Prepare(
                                      "INSERT INTO doc_stats(type, path, blocks, min_num, max_num, min_str, max_str, updated_at) "
                                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(type, path) DO UPDATE SET "
                                      "blocks = excluded.blocks, min_num = excluded.min_num, max_num = excluded.max_num, "
                                      "min_str = excluded.min_str, max_str = excluded.max_str, updated_at = excluded.updated_at"));
  up.Bind(1, type).Bind(2, dotted).Bind(3, blocks).Bind(4, stats.min_num).Bind(5, stats.max_num);
  up.Bind(6, stats.min_str).Bind(7, stats.max_str).Bind(8, now);
  DOTDO_RETURN_IF_ERROR(up.Run());
  for (const auto& [block, bits] : bloom) DOTDO_RETURN_IF_ERROR(WriteBlock(conn, type, dotted, block, bits));
  return OkStatus();
}

}  // namespace dotdo::internal
