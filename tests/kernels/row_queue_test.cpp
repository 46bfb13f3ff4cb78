#include "kernels/row_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace mxlm::kernels {
namespace {

using Pieces = std::vector<std::pair<size_t, size_t>>;

// Every piece of q, claimed by `threads` threads at once, sorted by start.
Pieces drain(RowQueue& q, int threads) {
  Pieces all;
  std::mutex m;
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i)
    ts.emplace_back([&] {
      Pieces mine;
      for (size_t b = 0, e = 0; q.claim(b, e);) mine.emplace_back(b, e);
      std::lock_guard<std::mutex> lock(m);
      all.insert(all.end(), mine.begin(), mine.end());
    });
  for (std::thread& t : ts) t.join();
  std::sort(all.begin(), all.end());
  return all;
}

// The pieces tile [begin, end) with no gap or overlap, each non-empty, starting on `align`.
void expect_tiles(const Pieces& p, size_t begin, size_t end, size_t align) {
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p.front().first, begin);
  EXPECT_EQ(p.back().second, end);
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_LT(p[i].first, p[i].second) << i;
    EXPECT_EQ((p[i].first - begin) % align, 0u) << i;
    if (i > 0) EXPECT_EQ(p[i].first, p[i - 1].second) << i;
  }
}

TEST(RowQueue, WholeIsOnePiece) {
  RowQueue q = RowQueue::whole(5, 23);
  const Pieces p = drain(q, 3);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], std::make_pair(size_t(5), size_t(23)));
  RowQueue empty = RowQueue::whole(7, 7);
  EXPECT_TRUE(drain(empty, 2).empty());
}

TEST(RowQueue, EvenGivesEachWorkerOneAlignedShare) {
  // 1000 rows, align 16, 3 workers: 63 units of 16 → 21 units (336 rows) each, the last short.
  RowQueue q = RowQueue::even(0, 1000, 16, 3);
  const Pieces p = drain(q, 4);
  expect_tiles(p, 0, 1000, 16);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].second, 336u);
  EXPECT_EQ(p[1].second, 672u);
}

TEST(RowQueue, GuidedPiecesShrinkToTheMinimumAndCoverEveryRowOnce) {
  for (int threads : {1, 2, 4}) {
    SCOPED_TRACE(threads);
    // 2 workers: each claim takes a quarter of what is left, in multiples of 16, at least 48.
    RowQueue q = RowQueue::guided(32, 17440, 16, 2, 40);
    const Pieces p = drain(q, threads);
    expect_tiles(p, 32, 17440, 16);
    EXPECT_EQ(p[0].second - p[0].first, 4352u);  // 17408 / 4
    EXPECT_EQ(p[1].second - p[1].first, 3264u);  // 13056 / 4
    for (size_t i = 0; i + 1 < p.size(); ++i) {
      const size_t len = p[i].second - p[i].first;
      EXPECT_GE(len, 48u) << i;
      EXPECT_GE(len, p[i + 1].second - p[i + 1].first) << i;
      EXPECT_EQ(len % 16, 0u) << i;
    }
    EXPECT_EQ(p[p.size() - 2].second - p[p.size() - 2].first, 48u);
  }
}

TEST(RowQueue, GuidedForOneWorkerIsOnePiece) {
  RowQueue q = RowQueue::guided(0, 17408, 16, 1, 48);
  const Pieces p = drain(q, 1);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], std::make_pair(size_t(0), size_t(17408)));
}

TEST(RowQueue, GuidedMinimumNeverExceedsOneWorkersShare) {
  // 40 rows for 2 workers with a 1000-row minimum: two pieces of 32 and 8 (align 16), so both
  // workers get rows.
  RowQueue q = RowQueue::guided(0, 40, 16, 2, 1000);
  const Pieces p = drain(q, 2);
  expect_tiles(p, 0, 40, 16);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].second, 32u);
}

}  // namespace
}  // namespace mxlm::kernels
