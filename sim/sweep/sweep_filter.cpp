#include "sim/sweep/sweep_filter.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "hardware/input/yaml_reader.hpp"

namespace scaleplan::sweep {

FilterValue filter_value_of(const std::string& scalar) {
  if (scalar == "true")
    return true;
  if (scalar == "false")
    return false;
  std::string problem;
  if (auto number = decimal_number(scalar, problem))
    return *number;
  return scalar;
}

struct Filter::Node {
  enum class Kind { constant, key, negate, logical_not, binary };
  Kind kind = Kind::constant;
  FilterValue value;
  std::size_t key = 0;
  std::string op;  // binary: the operator as written ("and" for && too)
  std::size_t offset = 0;
  std::unique_ptr<Node> left, right;
};

namespace {

using Node = Filter::Node;

struct Token {
  enum class Kind { number, text, word, symbol, end };
  Kind kind = Kind::end;
  std::string text;
  double number = 0;
  std::size_t offset = 0;
};

bool key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
}

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      ++i;
      continue;
    }
    Token t;
    t.offset = i;
    if (std::isdigit(static_cast<unsigned char>(c)) != 0 ||
        (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) != 0)) {
      std::size_t j = i;
      while (j < s.size() &&
             (std::isalnum(static_cast<unsigned char>(s[j])) != 0 || s[j] == '.' ||
              ((s[j] == '+' || s[j] == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E'))))
        ++j;
      std::string problem;
      const std::string text(s.substr(i, j - i));
      const auto number = decimal_number(text, problem);
      if (!number)
        throw FilterError(problem, i);
      t.kind = Token::Kind::number;
      t.number = *number;
      t.text = text;
      i = j;
    } else if (c == '\'' || c == '"') {
      const std::size_t close = s.find(c, i + 1);
      if (close == std::string_view::npos)
        throw FilterError(fmt::format("the text started with {} is not closed", c), i);
      t.kind = Token::Kind::text;
      t.text = std::string(s.substr(i + 1, close - i - 1));
      i = close + 1;
    } else if (std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_') {
      std::size_t j = i;
      while (j < s.size() && key_char(s[j]))
        ++j;
      // A key does not end with a dot.
      while (j > i + 1 && s[j - 1] == '.')
        --j;
      t.kind = Token::Kind::word;
      t.text = std::string(s.substr(i, j - i));
      i = j;
    } else {
      static const std::vector<std::string> symbols{"==", "!=", "<=", ">=", "&&", "||", "<", ">",
                                                    "!",  "+",  "-",  "*",  "/",  "%",  "(", ")"};
      bool found = false;
      for (const std::string& symbol : symbols) {
        if (s.substr(i, symbol.size()) == symbol) {
          t.kind = Token::Kind::symbol;
          t.text = symbol;
          i += symbol.size();
          found = true;
          break;
        }
      }
      if (!found) {
        throw FilterError(fmt::format("unexpected character '{}'; a filter combines keys, numbers "
                                      "and 'text' with + - * / %, == != < <= > >=, and, or, not "
                                      "and parentheses",
                                      c),
                          i);
      }
    }
    tokens.push_back(std::move(t));
  }
  Token end;
  end.offset = s.size();
  tokens.push_back(end);
  return tokens;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::function<bool(const std::string&)>& known,
         std::vector<std::string>& keys)
      : tokens_(std::move(tokens)), known_(known), keys_(keys) {}

  std::unique_ptr<Node> parse() {
    auto node = parse_or();
    if (peek().kind != Token::Kind::end)
      throw FilterError(fmt::format("unexpected '{}' after a whole expression", peek().text),
                        peek().offset);
    return node;
  }

 private:
  const Token& peek() const { return tokens_[next_]; }
  bool accept(std::initializer_list<const char*> words, std::string& matched) {
    const Token& t = peek();
    if (t.kind != Token::Kind::symbol && t.kind != Token::Kind::word)
      return false;
    for (const char* w : words) {
      if (t.text == w) {
        matched = w;
        ++next_;
        return true;
      }
    }
    return false;
  }
  static std::unique_ptr<Node> binary(std::string op, std::size_t offset,
                                      std::unique_ptr<Node> left, std::unique_ptr<Node> right) {
    auto node = std::make_unique<Node>();
    node->kind = Node::Kind::binary;
    node->op = std::move(op);
    node->offset = offset;
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }

  std::unique_ptr<Node> parse_or() {
    auto left = parse_and();
    std::string op;
    for (std::size_t at = peek().offset; accept({"or", "||"}, op); at = peek().offset)
      left = binary("or", at, std::move(left), parse_and());
    return left;
  }
  std::unique_ptr<Node> parse_and() {
    auto left = parse_not();
    std::string op;
    for (std::size_t at = peek().offset; accept({"and", "&&"}, op); at = peek().offset)
      left = binary("and", at, std::move(left), parse_not());
    return left;
  }
  std::unique_ptr<Node> parse_not() {
    std::string op;
    const std::size_t at = peek().offset;
    if (accept({"not", "!"}, op)) {
      auto node = std::make_unique<Node>();
      node->kind = Node::Kind::logical_not;
      node->offset = at;
      node->left = parse_not();
      return node;
    }
    return parse_compare();
  }
  std::unique_ptr<Node> parse_compare() {
    auto left = parse_sum();
    std::string op;
    const std::size_t at = peek().offset;
    if (accept({"==", "!=", "<=", ">=", "<", ">"}, op))
      left = binary(op, at, std::move(left), parse_sum());
    return left;
  }
  std::unique_ptr<Node> parse_sum() {
    auto left = parse_product();
    std::string op;
    for (std::size_t at = peek().offset; accept({"+", "-"}, op); at = peek().offset)
      left = binary(op, at, std::move(left), parse_product());
    return left;
  }
  std::unique_ptr<Node> parse_product() {
    auto left = parse_unary();
    std::string op;
    for (std::size_t at = peek().offset; accept({"*", "/", "%"}, op); at = peek().offset)
      left = binary(op, at, std::move(left), parse_unary());
    return left;
  }
  std::unique_ptr<Node> parse_unary() {
    std::string op;
    const std::size_t at = peek().offset;
    if (accept({"-"}, op)) {
      auto node = std::make_unique<Node>();
      node->kind = Node::Kind::negate;
      node->offset = at;
      node->left = parse_unary();
      return node;
    }
    return parse_primary();
  }
  std::unique_ptr<Node> parse_primary() {
    if (++depth_ > 200)
      throw FilterError("the filter nests too deep", peek().offset);
    const Token t = peek();
    auto node = std::make_unique<Node>();
    node->offset = t.offset;
    switch (t.kind) {
      case Token::Kind::number:
        ++next_;
        node->value = t.number;
        break;
      case Token::Kind::text:
        ++next_;
        node->value = t.text;
        break;
      case Token::Kind::word:
        ++next_;
        if (t.text == "true" || t.text == "false") {
          node->value = t.text == "true";
        } else if (t.text == "and" || t.text == "or" || t.text == "not") {
          throw FilterError(fmt::format("expected a value before '{}'", t.text), t.offset);
        } else {
          if (!known_(t.text))
            throw FilterError(
                fmt::format("'{}' is not an axis or a key of the base scenario", t.text), t.offset);
          node->kind = Node::Kind::key;
          const auto found = std::find(keys_.begin(), keys_.end(), t.text);
          node->key = static_cast<std::size_t>(found - keys_.begin());
          if (found == keys_.end())
            keys_.push_back(t.text);
        }
        break;
      case Token::Kind::symbol:
        if (t.text == "(") {
          ++next_;
          node = parse_or();
          if (peek().text != ")" || peek().kind != Token::Kind::symbol)
            throw FilterError("expected ')'", peek().offset);
          ++next_;
          break;
        }
        throw FilterError(fmt::format("expected a value, got '{}'", t.text), t.offset);
      case Token::Kind::end:
        throw FilterError("the filter ends where a value is expected", t.offset);
    }
    --depth_;
    return node;
  }

  std::vector<Token> tokens_;
  std::size_t next_ = 0;
  int depth_ = 0;
  const std::function<bool(const std::string&)>& known_;
  std::vector<std::string>& keys_;
};

std::string describe(const FilterValue& v) {
  if (const double* d = std::get_if<double>(&v))
    return fmt::format("the number {}", *d);
  if (const bool* b = std::get_if<bool>(&v))
    return *b ? "true" : "false";
  return fmt::format("the text '{}'", std::get<std::string>(v));
}

FilterValue evaluate(const Node& n, const std::function<FilterValue(std::size_t)>& value,
                     const std::vector<std::string>& keys) {
  auto number = [&](const Node& operand, const std::string& op) {
    const FilterValue v = evaluate(operand, value, keys);
    if (const double* d = std::get_if<double>(&v))
      return *d;
    throw FilterError(fmt::format("'{}' takes numbers, got {}", op, describe(v)), n.offset);
  };
  auto truth = [&](const Node& operand, const std::string& op) {
    const FilterValue v = evaluate(operand, value, keys);
    if (const bool* b = std::get_if<bool>(&v))
      return *b;
    throw FilterError(fmt::format("'{}' takes true or false, got {}", op, describe(v)), n.offset);
  };
  switch (n.kind) {
    case Node::Kind::constant:
      return n.value;
    case Node::Kind::key:
      return value(n.key);
    case Node::Kind::negate:
      return -number(*n.left, "-");
    case Node::Kind::logical_not:
      return !truth(*n.left, "not");
    case Node::Kind::binary:
      break;
  }
  const std::string& op = n.op;
  if (op == "and")
    return truth(*n.left, op) && truth(*n.right, op);
  if (op == "or")
    return truth(*n.left, op) || truth(*n.right, op);
  if (op == "==" || op == "!=") {
    const FilterValue a = evaluate(*n.left, value, keys);
    const FilterValue b = evaluate(*n.right, value, keys);
    if (a.index() != b.index())
      throw FilterError(fmt::format("'{}' compares {} with {}", op, describe(a), describe(b)),
                        n.offset);
    return (a == b) == (op == "==");
  }
  if (op == "<" || op == "<=" || op == ">" || op == ">=") {
    const double a = number(*n.left, op);
    const double b = number(*n.right, op);
    return op == "<" ? a < b : op == "<=" ? a <= b : op == ">" ? a > b : a >= b;
  }
  const double a = number(*n.left, op);
  const double b = number(*n.right, op);
  if (op == "+")
    return a + b;
  if (op == "-")
    return a - b;
  if (op == "*")
    return a * b;
  if (b == 0)
    throw FilterError(fmt::format("'{}' by zero", op), n.offset);
  if (op == "/")
    return a / b;
  if (a != std::trunc(a) || b != std::trunc(b))
    throw FilterError(fmt::format("'%' takes whole numbers, got {} and {}", a, b), n.offset);
  return std::fmod(a, b);
}

}  // namespace

Filter::Filter(std::string_view text, const std::function<bool(const std::string&)>& known) {
  root_ = Parser(tokenize(text), known, keys_).parse();
}
Filter::~Filter() = default;
Filter::Filter(Filter&&) noexcept = default;
Filter& Filter::operator=(Filter&&) noexcept = default;

bool Filter::keep(const std::function<FilterValue(std::size_t)>& value) const {
  const FilterValue v = evaluate(*root_, value, keys_);
  if (const bool* b = std::get_if<bool>(&v))
    return *b;
  throw FilterError(fmt::format("the filter gives {}, not true or false", describe(v)), 0);
}

}  // namespace scaleplan::sweep
