"""Every ``cw-*`` CSS class an explorer's widgets carry, and what each shows.

Browser tests find widgets by these classes; rename one only together with them.
"""

from __future__ import annotations

__all__ = ["CSS_CLASSES", "MODEL_CSS_CLASSES"]

#: CSS class -> what the widget is and the text it shows (also written to widget_classes.md).
CSS_CLASSES: dict[str, str] = {
    "cw-explorer": "root VBox of the whole app",
    "cw-title": "HTML: one-line title 'ConvExplorer — move a slider: ...'",
    "cw-controls": "VBox holding every setting control (one HBox row per setting)",
    "cw-input-row": "HBox: input H, W sliders and their 'H = W' checkbox (likewise cw-kernel-row, "
                    "cw-stride-row, cw-padding-row, cw-dilation-row, cw-output-padding-row)",
    "cw-kernel-row": "HBox: kernel row", "cw-stride-row": "HBox: stride row",
    "cw-padding-row": "HBox: padding row", "cw-dilation-row": "HBox: dilation row",
    "cw-output-padding-row": "HBox: output_padding row (transposed convolution only)",
    "cw-flags": "HBox: ceil_mode and count_include_pad checkboxes",
    "cw-channels": "HBox: in_channels, out_channels, groups",
    "cw-panels": "HBox: animation panel beside the calculator panel",
    "cw-calculator-title": "HTML 'Calculator'",
    "cw-player": "HBox: Play button and step slider",
    "cw-cell": "HBox: row and col sliders",
    "cw-kind": "Dropdown: layer kind; values 'conv', 'conv_transpose', 'max_pool', 'avg_pool'",
    "cw-input-h": "IntSlider: input height",
    "cw-input-w": "IntSlider: input width (disabled, follows height while cw-input-square is ticked)",
    "cw-input-square": "Checkbox 'H = W' for the input size",
    "cw-kernel-h": "IntSlider: kernel height",
    "cw-kernel-w": "IntSlider: kernel width",
    "cw-kernel-square": "Checkbox 'H = W' for the kernel",
    "cw-stride": "IntSlider: stride (height; also class cw-stride-h)",
    "cw-stride-w": "IntSlider: stride width",
    "cw-stride-square": "Checkbox 'H = W' for the stride",
    "cw-padding-mode": "Dropdown: 'number', 'same', 'valid' (convolution only)",
    "cw-padding": "IntSlider: padding (height; also class cw-padding-h); max = kernel//2 for pooling",
    "cw-padding-w": "IntSlider: padding width",
    "cw-padding-square": "Checkbox 'H = W' for the padding",
    "cw-padding-readout": "HTML: padding 'same'/'valid' per side as PyTorch pads it (not the sliders)",
    "cw-dilation": "IntSlider: dilation (height; also class cw-dilation-h); hidden for average pool",
    "cw-dilation-w": "IntSlider: dilation width",
    "cw-dilation-square": "Checkbox 'H = W' for the dilation",
    "cw-output-padding": "IntSlider: output_padding (height; also cw-output-padding-h); "
                         "transposed convolution only; max = max(stride, dilation) - 1",
    "cw-output-padding-w": "IntSlider: output_padding width",
    "cw-output-padding-square": "Checkbox 'H = W' for output_padding",
    "cw-ceil-mode": "Checkbox: ceil_mode (pooling only)",
    "cw-count-include-pad": "Checkbox: count_include_pad (average pool only)",
    "cw-in-channels": "BoundedIntText: in_channels",
    "cw-out-channels": "BoundedIntText: out_channels (convolutions only)",
    "cw-groups": "BoundedIntText: groups (convolutions only)",
    "cw-calculator": "VBox: the calculator panel",
    "cw-output-size": "HTML: 'Output: 16 × 16' (height × width), or 'Output: refused' for a "
                      "setting PyTorch refuses",
    "cw-formula": "HTMLMath: per-dimension derivation in LaTeX (\\( ... \\)), or the refusal sentence",
    "cw-formula-text": "HTML: the same derivation as plain text, e.g. "
                       "'height: ⌊(32 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 16'",
    "cw-params": "HTML: 'Parameters: 10 = 1·1·3·3 weights + 1 bias' (0 for pooling)",
    "cw-receptive-field": "HTML: 'Receptive field: 3 × 3 input cells per output cell ...'",
    "cw-animation": "VBox: the animation panel",
    "cw-picture": "Image (PNG bytes of the figure; on a refused setting it shows the explanation); "
                  "hidden in live mode",
    "cw-picture-live": "ipympl Canvas with the same figure, only with ConvExplorer(live=True) or "
                       "when %matplotlib widget is active (then cw-picture is hidden)",
    "cw-picture-error": "HTML: the refusal explanation shown in place of the picture (hidden otherwise)",
    "cw-play": "Play: walks cw-step across the output cells (jslink'd to cw-step)",
    "cw-step": "IntSlider 'step' (no readout): output cell number (row-major), 0 .. cells-1",
    "cw-step-counter": "HTML: 'step 1/9', counted from 1 as the picture counts",
    "cw-row": "IntSlider: output row of the current cell",
    "cw-col": "IntSlider: output column of the current cell",
    "cw-step-label": "HTML: 'output cell (r, c) reads input rows a–b, cols c–d'",
    "cw-torch-panel": "HTML: 'Real PyTorch' panel: the nn code, input and output torch.Size, "
                      "'✓ agrees with the calculator' (or '✗ ... PyTorch says ..., calculator says ...'); "
                      "when refused: PyTorch's own error message beside convwidget's explanation "
                      "('✓ both refuse'); the output values (channel 0) for outputs of at most 144 cells",
    "cw-export": "HBox: export row",
    "cw-export-gif": "Button 'Export GIF'",
    "cw-export-html": "Button 'Export HTML player'",
    "cw-export-progress": "IntProgress: frames rendered while exporting (hidden when idle)",
    "cw-export-link": "HTML: link to the written file and a data-URI download link, or an error sentence",
    "cw-error": "HTML: an unexpected exception inside a callback, shown as text (hidden when none)",
    # quiz mode (ConvExplorer(quiz=True)): until the answer, cw-controls, cw-panels' children,
    # cw-torch-panel and cw-export are hidden and their texts empty
    "cw-quiz": "VBox: the quiz (quiz mode only), above the controls",
    "cw-quiz-prompt": "HTML: 'Quiz (level, difficulty n): An input of 11 cells goes through "
                      "nn.Conv1d(...). How many cells does the output have?'",
    "cw-quiz-picture": "Image: the input strip, its padding and the first window (no output side); "
                       "hidden for a transposed convolution",
    "cw-quiz-picture-note": "HTML: what the quiz picture shows (its title), or why it is not shown",
    "cw-quiz-answer-row": "HBox: the answer box and the Check button",
    "cw-quiz-answer": "Text: the learner's predicted output size (Enter checks it)",
    "cw-quiz-check": "Button 'Check'",
    "cw-quiz-feedback": "HTML: the diagnosis: '✓ Right: ...', '✗ Not quite: ... is what "
                        "“<misconception>” gives: ... Fix: ...', or why the entry is not a number",
    "cw-quiz-buttons": "HBox: score, Next, 'Same again, harder', the level dropdown",
    "cw-quiz-score": "HTML: 'Score: 1 of 2 right'",
    "cw-quiz-next": "Button 'Next': another question at this level (hides the answers again)",
    "cw-quiz-harder": "Button 'Same again, harder': bigger numbers, then the next level",
    "cw-quiz-level": "Dropdown: the quiz level ('plain', 'padding_stride', 'dilation', 'pooling', "
                     "'transposed')",
}

#: ModelExplorer's CSS classes added since issue 12 (the other ``cw-model-*`` classes are named
#: in convwidget/explorer/model.py); kept apart from :data:`CSS_CLASSES`, ConvExplorer's own.
MODEL_CSS_CLASSES: dict[str, str] = {
    "cw-model-picture": "Image (PNG bytes): the net picture, TraceReport.plot(), redrawn in place "
                        "on each input-size change; a failing step in the error colour",
}
