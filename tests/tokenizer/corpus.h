// The conformance corpus: over 1 MB of text in documents, generated deterministically from a
// fixed seed so that it is reproducible without being stored. Each document has a name so a
// mismatch points at what kind of text broke. Everything here stays inside characters assigned
// in Unicode long ago, so that the reference (Node's ICU) and we (PCRE2, utf8proc) agree on
// their properties; and it avoids U+0085 and U+FEFF, the two characters on which JavaScript's
// \s differs from the Oniguruma semantics we follow (tested by hand elsewhere).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/utf8.h"

namespace mxlm::tokenizer::testing {

struct Document {
  std::string name;
  std::string text;
};

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {  // splitmix64
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return size_t(next() % n); }
  size_t between(size_t lo, size_t hi) { return lo + below(hi - lo + 1); }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

 private:
  uint64_t state_;
};

inline std::string cp(uint32_t c) {
  std::string s;
  append_code_point(s, c);
  return s;
}

// The first `n` bytes of `s`, shortened to a character boundary.
inline std::string head(const std::string& s, size_t n) {
  if (n >= s.size()) return s;
  while (n > 0 && (uint8_t(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

inline const std::vector<std::string>& english_sentences() {
  static const std::vector<std::string> s = {
      "The quick brown fox jumps over the lazy dog.",
      "It's a truth universally acknowledged that a single man in possession of a good fortune must be in want of a wife.",
      "We'll meet at the station at half past seven, if the trains aren't late again.",
      "She said, \"I don't think they're coming back,\" and closed the door behind her.",
      "HE'S NOT HERE; THEY'VE GONE HOME AND WE'LL NEVER KNOW WHY.",
      "In 1969, roughly 600 million people watched the first Moon landing on television.",
      "The committee's report (published on 3 March) runs to 412 pages and cost $1.2 million.",
      "Why would anyone want to read a tokenizer's source code -- unless they had to?",
      "Rain fell all night; by morning the river had risen nearly two metres.",
      "\"Well,\" said the old man, \"that's the way it's always been done around here.\"",
      "Photosynthesis converts light energy into chemical energy stored in glucose.",
      "You're welcome to stay; I'd only ask that you don't touch the piano.",
      "A 3.5-inch floppy disk holds 1.44 MB, which isn't much by today's standards.",
      "The museum opens at 9:30 a.m. and closes at 5 p.m. on weekdays.",
      "Their argument was simple: more data beats cleverer algorithms, most of the time.",
      "Mr. O'Neill and Dr. McAllister-Smith co-authored the paper in 2003.",
      "I'M SURE IT'LL BE FINE, SHE'D SAID, BUT NOBODY BELIEVED HER.",
      "Temperatures ranged from -12°C at night to 4°C around midday.",
      "Check the logs at /var/log/syslog or email admin@example.com for help.",
      "The recipe calls for 250 g of flour, 2 eggs, and a pinch of salt.",
      "What's done is done; what's past is prologue, as the saying goes.",
      "Visit https://www.example.org/path?query=value&lang=en#section-2 for details.",
      "Ten thousand years ago, glaciers covered much of the northern hemisphere.",
      "The team's new approach reduced latency by 37% and memory use by half.",
      "Don't panic!!! It's only a test... probably.",
      "Wait -- you mean they've already left?! Without us?",
      "The word 'naïve' comes from French, as does 'café' and 'résumé'.",
      "Section 4.2.1 states that all inputs must be validated before use.",
      "On Tuesday we'll review the budget; on Wednesday, the schedule.",
      "Sorting a million integers takes well under a second on a modern laptop.",
      "Y'all'd've thought they'd've known better by now, wouldn't you?",
      "The ratio was 3:2, not 2:3 as the first draft had claimed.",
      "He typed `ls -la` and stared at the screen for a long moment.",
      "Most birds can fly, but penguins, ostriches and kiwis cannot.",
      "The year 2000 problem was fixed by thousands of programmers working overtime.",
      "\"Stop,\" she whispered. \"Listen.\" Somewhere below, a door creaked open.",
  };
  return s;
}

inline const std::vector<std::string>& code_snippets() {
  static const std::vector<std::string> s = {
      "#include <vector>\n\nint sum(const std::vector<int>& v) {\n  int total = 0;\n  for (int x : v) total += x;\n  return total;\n}\n",
      "template <typename T>\nstruct Node {\n\tT value;\n\tNode* next = nullptr;\n};\n// TODO(someone): free the list\n",
      "def fibonacci(n: int) -> int:\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n\nif __name__ == '__main__':\n    print(fibonacci(30))\n",
      "class Stack:\n    def __init__(self):\n        self._items = []\n\n    def push(self, item):\n        self._items.append(item)\n\n    def pop(self):\n        return self._items.pop()\n",
      "const fetchJson = async (url) => {\n  const res = await fetch(url, { headers: { 'Accept': 'application/json' } });\n  if (!res.ok) throw new Error(`HTTP ${res.status}`);\n  return res.json();\n};\n",
      "fn main() {\n    let words: Vec<&str> = \"a b c\".split(' ').collect();\n    println!(\"{:?} has {} words\", words, words.len());\n}\n",
      "impl<'a> Iterator for Tokens<'a> {\n    type Item = &'a str;\n    fn next(&mut self) -> Option<Self::Item> { self.inner.next() }\n}\n",
      "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tch := make(chan int, 3)\n\tgo func() { ch <- 42 }()\n\tfmt.Println(<-ch)\n}\n",
      "SELECT u.id, u.name, COUNT(o.id) AS orders\nFROM users u\nLEFT JOIN orders o ON o.user_id = u.id\nWHERE u.created_at >= '2024-01-01'\nGROUP BY u.id, u.name\nHAVING COUNT(o.id) > 5;\n",
      "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do\n  wc -l \"$f\" | awk '{print $1}'\ndone 2>/dev/null || echo \"none\" >&2\n",
      "<!DOCTYPE html>\n<html lang=\"en\">\n  <head><meta charset=\"utf-8\"><title>Test &amp; demo</title></head>\n  <body>\n    <div class=\"box\" id=\"main\">Hello</div>\n  </body>\n</html>\n",
      "{\n  \"name\": \"mxlm\",\n  \"version\": \"0.1.0\",\n  \"dependencies\": {\"fmt\": \"^10\", \"json\": null},\n  \"list\": [1, 2.5, -3e10, true, false]\n}\n",
      "server:\n  host: 0.0.0.0\n  port: 8080\n  tls:\n    enabled: false\n# comment line\nworkers: 4\n",
      "public static void main(String[] args) {\n    Map<String, List<Integer>> m = new HashMap<>();\n    m.computeIfAbsent(\"k\", k -> new ArrayList<>()).add(1);\n}\n",
      "x = [i**2 for i in range(10) if i % 2 == 0]\ny = {k: v for k, v in zip('abc', (1, 2, 3))}\nassert x[-1] == 64, f\"unexpected {x!r}\"\n",
      "    if (ptr != NULL && *ptr == '\\0') {\n        return -1;    /* empty */\n    }\n    memcpy(dst, src, n * sizeof(*src));\n",
      "let re = /^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)@example\\.com$/i;\nconsole.log(re.test(\"user@example.com\")); // true\n",
      "\\begin{equation}\n  E = mc^2 \\quad \\text{and} \\quad \\int_0^\\infty e^{-x^2} dx = \\frac{\\sqrt{\\pi}}{2}\n\\end{equation}\n",
  };
  return s;
}

inline const std::vector<std::string>& world_sentences() {
  static const std::vector<std::string> s = {
      "我们今天去公园散步，天气非常好。", "机器学习模型需要大量的数据来训练。",
      "東京は日本の首都で、人口は約一千四百万人です。", "ひらがなとカタカナと漢字を混ぜて書きます。",
      "서울은 대한민국의 수도입니다.", "오늘 날씨가 정말 좋네요!", "「こんにちは」と彼は言った。",
      "中华人民共和国成立于1949年10月1日。", "她说：“我明天再来。”",
      "اللغة العربية جميلة جداً وغنية بالمفردات.", "مَرْحَبًا بِكُمْ فِي الْمَدِينَةِ.",
      "وُلِدَ فِي عَام ١٩٨٥ فِي القاهرة.", "हिन्दी भारत की सबसे अधिक बोली जाने वाली भाषा है।",
      "मैं कल दिल्ली जाऊँगा और ३ दिन रुकूँगा।", "क़िला और ज़मीन में नुक़्ता होता है।",
      "Привет, как дела? Всё хорошо, спасибо.", "Ελληνικά: Καλημέρα σας, τι κάνετε;",
      "שלום עולם, מה שלומך היום?", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
      "Ça va très bien, merci ! Où est la bibliothèque ?", "Größe, Straße und Übermaß schreibt man mit ß.",
      "Việt Nam có nhiều món ăn ngon như phở và bánh mì.", "Türkçe'de ğ, ş, ı ve ö harfleri vardır.",
  };
  return s;
}

inline const std::vector<std::string>& emoji() {
  static const std::vector<std::string> s = {
      "😀", "😂", "🥲", "🤖", "🚀", "🎉", "❤️", "👍🏽", "👋🏿", "✌🏻",
      "👨‍👩‍👧‍👦", "👩🏽‍💻", "🧑‍🤝‍🧑", "🏳️‍🌈", "🏴‍☠️", "👁️‍🗨️", "❤️‍🔥", "🐻‍❄️",
      "🇺🇸", "🇯🇵", "🇩🇪", "🇧🇷", "🇮🇳", "🇪🇺", "🇺🇳", "1️⃣", "#️⃣", "*️⃣", "©️", "™️",
      "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🫠", "☕", "⚡", "🌍", "🎵", "💯", "🔥🔥🔥", "😀😀😀😀",
  };
  return s;
}

// Qwen3's added tokens, the special ones first.
inline const std::vector<std::string>& qwen_added_tokens() {
  static const std::vector<std::string> s = {
      "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
      "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
      "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
      "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
      "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>", "<think>", "</think>",
  };
  return s;
}

inline const std::vector<std::string>& lookalikes() {
  static const std::vector<std::string> s = {
      "<|im_start", "im_start|>", "<|im_end |>", "< |im_end|>", "<|IM_END|>", "<|im-end|>",
      "<<|im_end|>>", "<|<|endoftext|>|>", "<think", "think>", "< think>", "</think >", "<THINK>",
      "<|endoftext||>", "<||>", "<|>", "<|", "|>", "<tool_call", "<tool_call >", "</ tool_call>",
      "<|fim_prefix", "&lt;|im_end|&gt;", "<|im_endoftext|>", "<|vision_pad_|>", "<<think>>",
      "<|im_start|", "<|object_ref|>", "<tool_responses>", "<|box|>",
  };
  return s;
}

// Pieces of whitespace, including the Unicode spaces that \s covers.
inline std::string whitespace_run(Rng& rng) {
  static const std::vector<std::string> ws = {" ", " ", " ", "\t", "\n", "\n", "\r\n", "\r", "\v", "\f",
                                              cp(0xA0), cp(0x2003), cp(0x3000), cp(0x2028), cp(0x202F)};
  std::string s;
  const size_t n = rng.between(1, 12);
  for (size_t i = 0; i < n; ++i) s += rng.pick(ws);
  return s;
}

inline std::string number(Rng& rng, size_t digits) {
  std::string s;
  for (size_t i = 0; i < digits; ++i) s += char('0' + (i == 0 ? rng.between(1, 9) : rng.below(10)));
  return s;
}

inline uint32_t random_code_point(Rng& rng) {
  static const std::vector<std::pair<uint32_t, uint32_t>> ranges = {
      {0x21, 0x7E}, {0xA1, 0xFF}, {0x100, 0x17E}, {0x391, 0x3A9}, {0x3B1, 0x3C9},
      {0x410, 0x44F}, {0x5D0, 0x5EA}, {0x621, 0x63A}, {0x641, 0x64A}, {0x660, 0x669},
      {0x905, 0x939}, {0x966, 0x96F}, {0xE01, 0xE2E}, {0x2010, 0x2027}, {0x2030, 0x205E},
      {0x2070, 0x2070}, {0x2074, 0x2079}, {0x2160, 0x2182}, {0x2190, 0x21FF}, {0x2200, 0x22FF},
      {0x2460, 0x249B}, {0x2500, 0x257F}, {0x3041, 0x3093}, {0x30A1, 0x30F6}, {0x4E00, 0x9FA5},
      {0xAC00, 0xD7A3}, {0xF900, 0xFA0D}, {0xFF01, 0xFF5E}, {0x1F300, 0x1F5FF}, {0x1F600, 0x1F64F},
      {0x1F680, 0x1F6C5}, {0x1D400, 0x1D4FF}, {0x2F00, 0x2FD5}};
  const auto& [lo, hi] = rng.pick(ranges);
  return uint32_t(lo + rng.below(hi - lo + 1));
}

// Letters with combining marks in random (often non-canonical) order, decomposed jamo, and
// characters whose NFC form differs (singletons, composition exclusions).
inline std::string combining_text(Rng& rng) {
  static const std::vector<std::string> fixed = {
      cp(0x212B), cp(0x2126), "e" + cp(0x301), "a" + cp(0x323) + cp(0x302), "a" + cp(0x302) + cp(0x323),
      "o" + cp(0x308) + cp(0x304), cp(0x1100) + cp(0x1161) + cp(0x11A8), cp(0x1112) + cp(0x1173),
      cp(0x958), cp(0x915) + cp(0x93C), cp(0xF900), cp(0x1E0A) + cp(0x323), "fi" + cp(0xFB01),
      cp(0x2FC) + "x", "A" + cp(0x30A), cp(0x627) + cp(0x653), cp(0x928) + cp(0x93C), cp(0x30AB) + cp(0x3099)};
  std::string s;
  const size_t words = rng.between(20, 60);
  for (size_t w = 0; w < words; ++w) {
    if (rng.below(4) == 0) {
      s += rng.pick(fixed);
    } else {
      const size_t len = rng.between(1, 8);
      for (size_t i = 0; i < len; ++i) {
        s += char(rng.below(2) ? 'a' + rng.below(26) : 'A' + rng.below(26));
        const size_t marks = rng.below(3) == 0 ? rng.between(1, 3) : 0;
        for (size_t m = 0; m < marks; ++m) s += cp(uint32_t(0x300 + rng.below(0x70)));
      }
    }
    s += rng.below(8) == 0 ? "\n" : " ";
  }
  return s;
}

inline std::vector<Document> conformance_corpus() {
  Rng rng(20250611);
  std::vector<Document> docs;
  const auto add = [&](const std::string& kind, std::string text) {
    docs.push_back({kind + "_" + std::to_string(docs.size()), std::move(text)});
  };
  const auto english = [&](size_t sentences) {
    std::string s;
    for (size_t i = 0; i < sentences; ++i) {
      s += rng.pick(english_sentences());
      s += rng.below(6) == 0 ? "\n\n" : " ";
    }
    return s;
  };

  for (int i = 0; i < 160; ++i) add("english", english(rng.between(10, 30)));
  for (int i = 0; i < 90; ++i) {
    std::string s;
    for (size_t k = rng.between(3, 8); k > 0; --k) s += rng.pick(code_snippets()) + "\n";
    if (i % 3 == 1) {  // tabs for indentation
      std::string t;
      for (size_t p = 0; p < s.size(); ++p) t += (s.compare(p, 4, "    ") == 0) ? (p += 3, "\t") : std::string(1, s[p]);
      s = t;
    }
    if (i % 3 == 2) {  // CRLF line ends
      std::string t;
      for (char c : s) t += c == '\n' ? std::string("\r\n") : std::string(1, c);
      s = t;
    }
    add("code", s);
  }
  for (int i = 0; i < 90; ++i) {
    std::string s;
    for (size_t k = rng.between(15, 40); k > 0; --k) {
      s += rng.pick(world_sentences());
      if (rng.below(3) == 0) {  // random characters from the same scripts
        for (size_t c = rng.between(5, 40); c > 0; --c) s += cp(random_code_point(rng));
      }
      s += rng.below(4) == 0 ? "\n" : " ";
    }
    add("world", s);
  }
  for (int i = 0; i < 40; ++i) {
    std::string s;
    for (size_t k = rng.between(30, 90); k > 0; --k) {
      s += rng.pick(emoji());
      s += rng.below(3) == 0 ? " " : rng.below(2) ? "" : " and " + head(rng.pick(english_sentences()), 20);
    }
    add("emoji", s);
  }
  for (int i = 0; i < 50; ++i) add("combining", combining_text(rng));
  for (int i = 0; i < 40; ++i) {
    std::string s;
    for (size_t digits = 1; digits <= 100; digits += rng.between(1, 4)) {
      s += number(rng, digits);
      static const std::vector<std::string> sep = {" ", ", ", "\n", "+", "-", "=", ".", "x", " $", "%", "e-"};
      s += rng.pick(sep);
    }
    s += " 3.14159 -0.001 1,234,567.89 1e10 0x1F 0b1010 +1 (555) 010-9999 1/2 ½ ² ⅔ ٣٤ ४२ １２３";
    add("numbers", s);
  }
  for (int i = 0; i < 40; ++i) {
    std::string s = rng.below(2) ? whitespace_run(rng) : "";
    for (size_t k = rng.between(20, 60); k > 0; --k) {
      s += head(rng.pick(english_sentences()), rng.between(1, 30));
      s += whitespace_run(rng);
      if (rng.below(5) == 0) s += std::string(rng.between(10, 200), rng.below(2) ? ' ' : '\n');
    }
    add("whitespace", s);
  }
  for (int i = 0; i < 60; ++i) {
    std::string s;
    for (size_t k = rng.between(20, 50); k > 0; --k) {
      const size_t what = rng.below(6);
      if (what == 0) s += rng.pick(qwen_added_tokens());
      else if (what == 1) s += rng.pick(lookalikes());
      else if (what == 2) s += " " + rng.pick(qwen_added_tokens()) + " ";
      else if (what == 3) s += rng.pick(qwen_added_tokens()) + rng.pick(qwen_added_tokens());
      else s += head(rng.pick(english_sentences()), rng.between(1, 40));
      if (rng.below(4) == 0) s += whitespace_run(rng);
    }
    add("special", s);
  }
  {  // every added token at least once, at the start, middle and end of documents
    std::string s;
    for (const std::string& t : qwen_added_tokens()) s += t + "x" + t + " " + t + "\n" + t;
    add("special_all", s);
    for (const std::string& t : qwen_added_tokens()) add("special_edges", t + " middle " + t + "end" + t);
  }
  for (int i = 0; i < 30; ++i) {
    std::string s;
    const size_t kind = size_t(i) % 6;
    const size_t len = rng.between(300, 12000);
    for (size_t k = 0; k < len; ++k) {
      if (kind == 0) s += 'a';
      else if (kind == 1) s += char('a' + rng.below(26));
      else if (kind == 2) s += "!?.-"[rng.below(4)];
      else if (kind == 3) s += cp(0x4E00 + uint32_t(rng.below(200)));
      else if (kind == 4) s += "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"[rng.below(64)];
      else s += cp(0x430 + uint32_t(rng.below(32)));
    }
    add("longword", "prefix " + s + " suffix");
  }
  for (int i = 0; i < 90; ++i) {
    std::string s;
    for (size_t k = rng.between(40, 120); k > 0; --k) {
      switch (rng.below(9)) {
        case 0: s += rng.pick(english_sentences()); break;
        case 1: s += rng.pick(world_sentences()); break;
        case 2: s += rng.pick(emoji()); break;
        case 3: s += whitespace_run(rng); break;
        case 4: s += number(rng, rng.between(1, 20)); break;
        case 5: s += cp(random_code_point(rng)); break;
        case 6: s += char(rng.below(0x20)); break;  // control characters, NUL included
        case 7: s += rng.pick(lookalikes()); break;
        default: s += head(rng.pick(code_snippets()), rng.between(1, 60)); break;
      }
      if (rng.below(3) == 0) s += " ";
    }
    add("mixed", s);
  }
  return docs;
}

}  // namespace mxlm::tokenizer::testing
