#include "gui/app/scenario_editor.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QUndoCommand>
#include <QUndoStack>
#include <QVBoxLayout>

namespace scaleplan::gui {
namespace {

// One edit: the text before and after. Keystrokes in one field merge into one step.
class FieldEdit final : public QUndoCommand {
 public:
  FieldEdit(ScenarioEditor* editor, std::string key, std::string before, std::string after)
      : editor_(editor),
        key_(std::move(key)),
        before_(std::move(before)),
        after_(std::move(after)) {
    setText(QString("edit %1").arg(QString::fromStdString(key_)));
  }
  void undo() override { editor_->restore_text(before_); }
  void redo() override { editor_->restore_text(after_); }
  int id() const override { return 1; }
  bool mergeWith(const QUndoCommand* other) override {
    const auto* edit = static_cast<const FieldEdit*>(other);
    if (edit->key_ != key_)
      return false;
    after_ = edit->after_;
    return true;
  }

 private:
  ScenarioEditor* editor_;
  std::string key_;
  std::string before_;
  std::string after_;
};

QString section_title(const std::string& section) {
  if (section == "cluster")
    return "Cluster";
  if (section == "model")
    return "Model";
  if (section == "training")
    return "Training";
  return "Parallelism";
}

}  // namespace

ScenarioEditor::ScenarioEditor(const Catalog& catalog, QUndoStack* undo, QWidget* parent)
    : QWidget(parent), catalog_(catalog), undo_(undo), fields_(scenario_fields(catalog)) {
  auto* layout = new QVBoxLayout(this);
  other_ = new QLabel(this);
  other_->setWordWrap(true);
  other_->setStyleSheet("color: #b00000;");
  other_->setObjectName("other_messages");
  other_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(other_);
  std::map<std::string, QFormLayout*> forms;
  for (const FieldSpec& field : fields_) {
    QFormLayout*& form = forms[field.section];
    if (!form) {
      auto* box = new QGroupBox(section_title(field.section), this);
      form = new QFormLayout(box);
      form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
      layout->addWidget(box);
    }
    QWidget* input = nullptr;
    const std::string key = field.key;
    if (field.kind == FieldKind::choice) {
      auto* combo = new QComboBox(this);
      combo->setEditable(true);  // a name not in the list is the reader's to judge
      combo->setInsertPolicy(QComboBox::NoInsert);
      for (const std::string& choice : field.choices)
        combo->addItem(QString::fromStdString(choice));
      connect(combo, &QComboBox::currentTextChanged, this, [this, key](const QString& text) {
        if (!updating_)
          edit_field(key, text.toStdString());
      });
      input = combo;
    } else if (field.kind == FieldKind::boolean) {
      auto* check = new QCheckBox(this);
      connect(check, &QCheckBox::toggled, this, [this, key](bool on) {
        if (!updating_)
          edit_field(key, on ? "true" : "false");
      });
      input = check;
    } else {
      auto* line = new QLineEdit(this);
      line->setPlaceholderText("default");
      connect(line, &QLineEdit::textEdited, this,
              [this, key](const QString& text) { edit_field(key, text.trimmed().toStdString()); });
      input = line;
    }
    input->setObjectName(QString::fromStdString(key));
    input->setAccessibleName(QString::fromStdString(field.label));
    auto* message = new QLabel(this);
    message->setObjectName(QString::fromStdString(key + ".message"));
    message->setWordWrap(true);
    message->setStyleSheet("color: #b00000;");
    message->setVisible(false);
    auto* cell = new QWidget(this);
    auto* cell_layout = new QVBoxLayout(cell);
    cell_layout->setContentsMargins(0, 0, 0, 0);
    cell_layout->setSpacing(1);
    auto* input_row = new QHBoxLayout;
    input_row->addWidget(input, 1);
    if (!field.unit.empty())
      input_row->addWidget(new QLabel(QString::fromStdString(field.unit), this));
    cell_layout->addLayout(input_row);
    cell_layout->addWidget(message);
    form->addRow(QString::fromStdString(field.label), cell);
    widgets_[key] = input;
    messages_[key] = message;
  }
  layout->addStretch(1);
}

void ScenarioEditor::set_text(const std::string& yaml_text, const std::string& file_label) {
  file_label_ = file_label;
  text_ = yaml_text;
  refresh();
}

bool ScenarioEditor::edit_field(const std::string& key, const std::string& value) {
  std::string after;
  try {
    after = with_field_value(text_, file_label_, key, value);
  } catch (const InputError&) {
    return false;
  }
  if (after == text_)
    return true;
  undo_->push(new FieldEdit(this, key, text_, after));  // redo() applies it
  return true;
}

void ScenarioEditor::restore_text(const std::string& yaml_text) {
  text_ = yaml_text;
  refresh();
  emit text_changed();
}

QWidget* ScenarioEditor::field_widget(const std::string& key) const {
  auto it = widgets_.find(key);
  return it == widgets_.end() ? nullptr : it->second;
}

QString ScenarioEditor::field_message(const std::string& key) const {
  auto it = validation_.by_field.find(key);
  if (it == validation_.by_field.end())
    return {};
  QStringList lines;
  for (const std::string& message : it->second)
    lines << QString::fromStdString(printable_text(message));
  return lines.join("\n");
}

QString ScenarioEditor::other_messages() const {
  QStringList lines;
  for (const std::string& message : validation_.other)
    lines << QString::fromStdString(printable_text(message));
  return lines.join("\n");
}

void ScenarioEditor::refresh() {
  // A new, empty scenario is not an error yet: the reader judges it from the first edit on.
  validation_ = text_.empty() ? FormValidation{}
                              : validate_scenario_text(text_, file_label_, catalog_, fields_);
  std::map<std::string, std::string> values;
  try {
    values = field_values(text_, file_label_, fields_);
  } catch (const InputError&) {
    // Not YAML: the reader's message says where, in the list above the forms.
  }
  updating_ = true;
  for (const FieldSpec& field : fields_) {
    const QString value = QString::fromStdString(values.count(field.key) ? values[field.key] : "");
    QWidget* input = widgets_[field.key];
    if (auto* combo = qobject_cast<QComboBox*>(input)) {
      if (combo->currentText() != value)
        combo->setCurrentText(value);
    } else if (auto* check = qobject_cast<QCheckBox*>(input)) {
      check->setChecked(value == "true");
    } else if (auto* line = qobject_cast<QLineEdit*>(input)) {
      if (line->text().trimmed() != value)
        line->setText(value);
    }
    const QString message = field_message(field.key);
    messages_[field.key]->setText(message);
    messages_[field.key]->setVisible(!message.isEmpty());
    input->setStyleSheet(message.isEmpty() ? QString() : "border: 1px solid #b00000;");
  }
  updating_ = false;
  other_->setText(other_messages());
  other_->setVisible(!validation_.other.empty());
}

}  // namespace scaleplan::gui
