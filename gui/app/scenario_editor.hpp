// The scenario editor: the cluster, model, training and parallelism forms over a scenario's
// YAML. Every edit rewrites the text with the library's field writer and reads it back with the
// scenario reader, so that each field shows, beside it and as you type, the message `scaleplan
// run` would print for it; keys the forms do not show are kept. Edits go on an undo stack, a
// run of keystrokes in one field as one step.
#pragma once

#include <map>
#include <string>

#include <QWidget>

#include "gui/models/scenario_form.hpp"

class QLabel;
class QUndoStack;

namespace scaleplan::gui {

class ScenarioEditor final : public QWidget {
  Q_OBJECT

 public:
  // `catalog` outlives the editor; `undo` receives the edits.
  ScenarioEditor(const Catalog& catalog, QUndoStack* undo, QWidget* parent = nullptr);

  // Shows `yaml_text` read from `file_label` (the path, which errors name and a calibration
  // profile resolves against). Not an undoable edit.
  void set_text(const std::string& yaml_text, const std::string& file_label);
  const std::string& text() const { return text_; }
  const std::string& file_label() const { return file_label_; }
  const FormValidation& validation() const { return validation_; }

  // An edit of one field, as a user's (undoable; an empty value removes the key). Returns false
  // and changes nothing when the text cannot hold it (it is not YAML).
  bool edit_field(const std::string& key, const std::string& value);
  // The text as of an undo or redo.
  void restore_text(const std::string& yaml_text);

  QWidget* field_widget(const std::string& key) const;
  // The message shown beside a field: the reader's messages for its key, one per line.
  QString field_message(const std::string& key) const;
  // The messages that belong to no field, as the command line prints them.
  QString other_messages() const;

 signals:
  void text_changed();

 private:
  void refresh();

  const Catalog& catalog_;
  QUndoStack* undo_;
  std::vector<FieldSpec> fields_;
  std::string text_;
  std::string file_label_;
  FormValidation validation_;
  std::map<std::string, QWidget*> widgets_;
  std::map<std::string, QLabel*> messages_;
  QLabel* other_ = nullptr;
  bool updating_ = false;
};

}  // namespace scaleplan::gui
