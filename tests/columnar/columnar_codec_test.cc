// The columnar encodings and sketches: every column kind round-trips with edge values (empty,
// all-null, INT64_MIN/MAX, NaN payloads, denormals, -0.0, long and empty strings, dictionary and
// plain strings), corrupt or truncated input is kDataLoss, bit packing at every width, the bloom
// filter has no false negatives and about its stated false-positive rate, and HyperLogLog stays
// within a few standard errors of the true count.
#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "columnar/column_codec.h"
#include "columnar/sketches.h"
#include "testing/test_util.h"

namespace dotdo::internal {
namespace {

using ::dotdo::testing::StatusIs;

// Row-by-row equality (dictionaries may be re-ordered by the encoder).
void ExpectSameColumn(const ColumnData& a, const ColumnData& b) {
  ASSERT_EQ(a.kind, b.kind);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a.present[i], b.present[i]) << i;
    ASSERT_EQ(a.nonnull[i], b.nonnull[i]) << i;
    if (!a.nonnull[i]) continue;
    switch (a.kind) {
      case ColumnKind::kBool:
      case ColumnKind::kInt: ASSERT_EQ(a.ints[i], b.ints[i]) << i; break;
      case ColumnKind::kDouble:
        ASSERT_EQ(std::bit_cast<uint64_t>(a.doubles[i]), std::bit_cast<uint64_t>(b.doubles[i])) << i;
        ASSERT_EQ(a.was_int[i], b.was_int[i]);
        break;
      case ColumnKind::kString: ASSERT_EQ(a.Str(i), b.Str(i)) << i; break;
    }
  }
}

ColumnData RoundTrip(const ColumnData& c) {
  const std::string blob = EncodeColumn(c);
  auto back = DecodeColumn(blob);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameColumn(c, *back);
  // Every strict prefix is refused, never read past.
  for (size_t cut = 0; cut < blob.size(); cut += std::max<size_t>(1, blob.size() / 50)) {
    EXPECT_THAT(DecodeColumn(std::string_view(blob).substr(0, cut)), StatusIs(StatusCode::kDataLoss)) << cut;
    if (c.size() > 0) EXPECT_THAT(DecodeColumnRow(std::string_view(blob).substr(0, cut), c.size() - 1), StatusIs(StatusCode::kDataLoss)) << cut;
  }
  // Each row on its own decodes to the same row; a row past the end is refused.
  for (size_t i = 0; i < c.size(); ++i) {
    auto one = DecodeColumnRow(blob, i);
    EXPECT_TRUE(one.ok()) << one.status().ToString();
    if (!one.ok()) break;
    ExpectSameColumn(SliceColumn(c, i, i + 1), *one);
  }
  EXPECT_THAT(DecodeColumnRow(blob, c.size()), StatusIs(StatusCode::kDataLoss));
  return *back;
}

ColumnData Ints(const std::vector<std::optional<int64_t>>& v) {
  ColumnData c{.kind = ColumnKind::kInt};
  c.Resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    c.present[i] = 1;
    if (v[i]) {
      c.nonnull[i] = 1;
      c.ints[i] = *v[i];
    }
  }
  return c;
}

TEST(ColumnCodecTest, IntegersRoundTripWithExtremes) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
  RoundTrip(Ints({}));
  RoundTrip(Ints({std::nullopt, std::nullopt, std::nullopt}));
  RoundTrip(Ints({kMin, kMax, kMin, 0, -1, 1, kMax, kMax}));
  RoundTrip(Ints({42}));
  std::vector<std::optional<int64_t>> ts;
  for (int i = 0; i < 5000; ++i) ts.push_back(1'700'000'000'000 + i * 1000 + (i % 7));
  const ColumnData c = Ints(ts);
  // Timestamps a second apart pack into a few bits per value.
  EXPECT_LT(EncodeColumn(c).size(), 5000u * 2);
  RoundTrip(c);
}

TEST(ColumnCodecTest, BitPackingEveryWidth) {
  std::mt19937_64 rng(1);
  for (int width = 0; width <= 64; ++width) {
    std::vector<uint64_t> v(37);
    for (auto& x : v) x = width == 0 ? 0 : (width == 64 ? rng() : rng() & ((uint64_t{1} << width) - 1));
    std::string packed = PackBits(v, width);
    std::string_view in = packed;
    std::vector<uint64_t> out;
    ASSERT_TRUE(UnpackBits(in, v.size(), width, out));
    EXPECT_EQ(out, v) << width;
    EXPECT_TRUE(in.empty());
  }
}

TEST(ColumnCodecTest, DoublesKeepEveryBitPattern) {
  ColumnData c{.kind = ColumnKind::kDouble};
  const std::vector<double> values = {0.0, -0.0, std::numeric_limits<double>::denorm_min(), -std::numeric_limits<double>::denorm_min(),
                                      std::numeric_limits<double>::min(), std::numeric_limits<double>::max(),
                                      std::numeric_limits<double>::lowest(), std::numeric_limits<double>::quiet_NaN(),
                                      std::bit_cast<double>(uint64_t{0x7ff0000000000123}),  // NaN with a payload
                                      std::numeric_limits<double>::infinity(), 1.5, 3.0};
  c.Resize(values.size() + 2);
  for (size_t i = 0; i < values.size(); ++i) {
    c.present[i] = c.nonnull[i] = 1;
    c.doubles[i] = values[i];
  }
  c.was_int[values.size() - 1] = 1;
  c.present[values.size()] = 1;  // JSON null; the last row is absent
  RoundTrip(c);
}

TEST(ColumnCodecTest, StringsDictionaryAndPlain) {
  ColumnData dict{.kind = ColumnKind::kString};
  dict.dict = {"", "paid", "open", "refunded"};
  dict.Resize(3000);
  for (size_t i = 0; i < 3000; ++i) {
    dict.present[i] = dict.nonnull[i] = i % 11 != 0;
    dict.codes[i] = static_cast<uint32_t>(i % 4);
  }
  const std::string dict_blob = EncodeColumn(dict);
  EXPECT_LT(dict_blob.size(), 3000u);  // a few bits per row
  RoundTrip(dict);

  ColumnData plain{.kind = ColumnKind::kString};
  plain.Resize(0);
  for (int i = 0; i < 200; ++i) plain.dict.push_back("user" + std::to_string(i * 7919) + "@example.com");
  plain.dict.push_back(std::string(1 << 20, 'x'));  // a 1 MiB string
  plain.dict.push_back("");
  plain.dict.push_back("\xe2\x82\xac uni\xc3\xa7ode");
  plain.Resize(plain.dict.size());
  for (size_t i = 0; i < plain.dict.size(); ++i) {
    plain.present[i] = plain.nonnull[i] = 1;
    plain.codes[i] = static_cast<uint32_t>(i);
  }
  RoundTrip(plain);
}

TEST(ColumnCodecTest, BooleansAndAllNullAndEmpty) {
  ColumnData b{.kind = ColumnKind::kBool};
  b.Resize(1001);
  for (size_t i = 0; i < b.size(); ++i) {
    b.present[i] = i % 3 != 0;
    b.nonnull[i] = i % 3 == 1;
    b.ints[i] = b.nonnull[i] ? (i % 2) : 0;
  }
  RoundTrip(b);
  for (ColumnKind k : {ColumnKind::kBool, ColumnKind::kInt, ColumnKind::kDouble, ColumnKind::kString}) {
    ColumnData empty{.kind = k};
    empty.Resize(0);
    RoundTrip(empty);
    ColumnData nulls{.kind = k};
    nulls.Resize(64);
    std::fill(nulls.present.begin(), nulls.present.end(), 1);
    RoundTrip(nulls);
  }
}

TEST(ColumnCodecTest, CorruptInputIsDataLoss) {
  EXPECT_THAT(DecodeColumn(""), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(DecodeColumn(std::string("\x07\x01x", 3)), StatusIs(StatusCode::kDataLoss));  // unknown codec
  std::string blob = EncodeColumn(Ints({1, 2, 3}));
  blob.push_back('!');
  EXPECT_THAT(DecodeColumn(blob), StatusIs(StatusCode::kDataLoss));
  // A zstd frame whose payload was damaged.
  ColumnData big = Ints({});
  for (int i = 0; i < 4000; ++i) big = Ints(std::vector<std::optional<int64_t>>(4000, 7));
  std::string z = EncodeColumn(big);
  ASSERT_EQ(z[0], 1) << "expected a zstd frame";
  z[z.size() / 2] ^= 0x55;
  z.resize(z.size() - 3);
  EXPECT_THAT(DecodeColumn(z), StatusIs(StatusCode::kDataLoss));
}

// Row groups: every group decodes on its own; a mask decodes only the wanted ones.
TEST(ColumnCodecTest, GroupedColumnsDecodeTheWantedGroups) {
  ColumnData s{.kind = ColumnKind::kString};
  s.Resize(2500);
  std::vector<std::string> values(2500);
  for (size_t i = 0; i < 2500; ++i) {
    s.present[i] = i % 7 != 0;
    s.nonnull[i] = s.present[i] && i % 5 != 0;
    if (s.nonnull[i]) values[i] = i % 3 ? "v" + std::to_string(i % 40) : std::string(300, 'a' + i % 26);
  }
  s.dict = values;
  for (size_t i = 0; i < 2500; ++i) s.codes[i] = static_cast<uint32_t>(i);
  const std::string blob = EncodeGroupedColumn(s, 1024);
  ASSERT_TRUE(IsGroupedColumn(blob));
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnData all, DecodeGroupedColumn(blob, 2500, 1024, nullptr));
  ExpectSameColumn(s, all);
  const std::vector<uint8_t> wanted = {0, 1, 0};
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnData mid, DecodeGroupedColumn(blob, 2500, 1024, &wanted));
  ASSERT_EQ(mid.size(), 2500u);
  for (size_t i = 0; i < 2500; ++i) {
    const bool in = i >= 1024 && i < 2048;
    ASSERT_EQ(mid.present[i], in ? s.present[i] : 0) << i;
    if (in && s.nonnull[i]) ASSERT_EQ(mid.Str(i), s.Str(i)) << i;
  }
  ColumnData ints = Ints(std::vector<std::optional<int64_t>>(3000, INT64_MIN));
  ints.nonnull[2999] = 0;
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnData back, DecodeGroupedColumn(EncodeGroupedColumn(ints, 1024), 3000, 1024, nullptr));
  ExpectSameColumn(ints, back);
  // A grouped blob is refused where a single frame is expected, for another shape, and cut short.
  EXPECT_THAT(DecodeColumn(blob), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(DecodeGroupedColumn(blob, 2400, 1024, nullptr), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(DecodeGroupedColumn(blob, 2500, 512, nullptr), StatusIs(StatusCode::kDataLoss));
  for (size_t cut = 0; cut < blob.size(); cut += blob.size() / 40)
    EXPECT_THAT(DecodeGroupedColumn(std::string_view(blob).substr(0, cut), 2500, 1024, nullptr), StatusIs(StatusCode::kDataLoss)) << cut;
}

// Row groups stored one per SQLite row: the frames of the groups read, empty for the others.
TEST(ColumnCodecTest, GroupFramesDecodeIntoOneWindow) {
  ColumnData ints = Ints(std::vector<std::optional<int64_t>>(2100, 7));
  for (size_t i = 0; i < ints.size(); ++i) ints.ints[i] = static_cast<int64_t>(i * i) - 1000;
  ints.nonnull[5] = 0;
  ints.ints[5] = 0;
  std::vector<std::string> frames;
  for (size_t b = 0; b < 2100; b += 1024) frames.push_back(EncodeColumn(SliceColumn(ints, b, std::min<size_t>(2100, b + 1024))));
  std::vector<std::string_view> views(frames.begin(), frames.end());
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnData all, DecodeGroupFrames(views, 2100, 1024));
  ExpectSameColumn(ints, all);
  views[1] = {};
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnData part, DecodeGroupFrames(views, 2100, 1024));
  for (size_t i = 0; i < 2100; ++i) {
    const bool in = i < 1024 || i >= 2048;
    ASSERT_EQ(part.present[i], in ? ints.present[i] : 0) << i;
    if (in && ints.nonnull[i]) {
      ASSERT_EQ(part.ints[i], ints.ints[i]) << i;
    }
  }
  // One group alone is a window of its own rows; a wrong shape or a corrupt frame is kDataLoss.
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnData last, DecodeGroupFrames({frames[2]}, 52, 1024));
  EXPECT_EQ(last.ints[51], 2099 * 2099 - 1000);
  EXPECT_THAT(DecodeGroupFrames({frames[2]}, 60, 1024), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(DecodeGroupFrames({frames[0]}, 2100, 1024), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(DecodeGroupFrames({std::string_view(frames[0]).substr(0, 9)}, 1024, 1024), StatusIs(StatusCode::kDataLoss));
}

// A group of the point-read columns in blocks of 128 rows: the whole group decodes as one frame
// would, a row decodes from its block alone, and a damaged or nested block directory is kDataLoss.
TEST(ColumnCodecTest, BlockedGroupFramesDecodeWholeAndByRow) {
  ColumnData emails{.kind = ColumnKind::kString};
  emails.Resize(1000);
  emails.dict.clear();
  for (size_t i = 0; i < 1000; ++i) {
    emails.present[i] = i % 17 != 3;
    emails.nonnull[i] = emails.present[i] && i % 29 != 0;
    emails.codes[i] = static_cast<uint32_t>(i);
    emails.dict.push_back(emails.nonnull[i] ? "user" + std::to_string(5'000'000 + i * 7) + "@example.com" : "");
  }
  const std::string blocked = EncodeGroupFrame(emails, 128);
  EXPECT_TRUE(IsGroupedColumn(blocked));
  EXPECT_FALSE(IsGroupedColumn(EncodeGroupFrame(SliceColumn(emails, 0, 128), 128)));  // one block: a plain frame
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnData whole, DecodeGroupFrame(blocked, 1000));
  ExpectSameColumn(emails, whole);
  for (size_t i = 0; i < 1000; i += 7) {
    DOTDO_ASSERT_OK_AND_ASSIGN(ColumnData one, DecodeColumnRow(blocked, i));
    ExpectSameColumn(SliceColumn(emails, i, i + 1), one);
  }
  EXPECT_THAT(DecodeColumnRow(blocked, 1000), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(DecodeGroupFrame(blocked, 999), StatusIs(StatusCode::kDataLoss));
  // As a row group among others.
  const std::vector<std::string_view> views = {blocked};
  DOTDO_ASSERT_OK_AND_ASSIGN(ColumnData via_groups, DecodeGroupFrames(views, 1000, 1024));
  ExpectSameColumn(emails, via_groups);
  for (size_t cut = 1; cut < blocked.size(); cut += blocked.size() / 30) {
    EXPECT_THAT(DecodeGroupFrame(std::string_view(blocked).substr(0, cut), 1000), StatusIs(StatusCode::kDataLoss)) << cut;
    EXPECT_THAT(DecodeColumnRow(std::string_view(blocked).substr(0, cut), 999), StatusIs(StatusCode::kDataLoss)) << cut;
  }
  // A block directory whose block is itself a directory.
  ColumnData nested_src = SliceColumn(emails, 0, 300);
  std::string nested(1, '\x02');
  PutVarint(nested, 300);
  PutVarint(nested, 1);
  const std::string inner = EncodeGroupedColumn(nested_src, 128);
  PutVarint(nested, inner.size());
  nested += inner;
  EXPECT_THAT(DecodeGroupFrame(nested, 300), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(DecodeColumnRow(nested, 5), StatusIs(StatusCode::kDataLoss));
}

TEST(SketchTest, BloomHasNoFalseNegativesAndFewFalsePositives) {
  BloomFilter bf(10000);
  for (int i = 0; i < 10000; ++i) bf.Add(HashBytes("key" + std::to_string(i)));
  BloomFilter back = BloomFilter::Parse(bf.Serialize());
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(back.MayContain(HashBytes("key" + std::to_string(i))));
  int fp = 0;
  for (int i = 0; i < 100000; ++i) fp += back.MayContain(HashBytes("other" + std::to_string(i)));
  EXPECT_LT(fp, 2000);  // ~1 % expected
}

TEST(SketchTest, HyperLogLogEstimatesWithinItsError) {
  for (int n : {0, 10, 1000, 100000}) {
    HyperLogLog h;
    for (int i = 0; i < n; ++i) h.Add(HashBytes(std::to_string(i)));
    for (int i = 0; i < n; ++i) h.Add(HashBytes(std::to_string(i)));  // duplicates do not count
    HyperLogLog merged = HyperLogLog::Parse(h.Serialize());
    merged.Merge(HyperLogLog());
    const double est = merged.Estimate();
    EXPECT_NEAR(est, n, std::max(2.0, n * 4 * 0.033)) << n;
  }
}

}  // namespace
}  // namespace dotdo::internal
