"""Every ``cw-*`` CSS class an explorer's widgets carry, and what each shows.

Browser tests find widgets by these classes; rename one only together with them.
"""

from __future__ import annotations

__all__ = ["CSS_CLASSES", "MODEL_CSS_CLASSES", "VIEW_CLASSES"]

#: CSS class -> what the widget is and the text it shows (also written to widget_classes.md).
CSS_CLASSES: dict[str, str] = {
    "cw-explorer": "root VBox of the whole app; also class cw-presentation-on in projector mode "
                   "(text 1.5x: CSS variables set on the root)",
    "cw-style": "HTML (display none): the <style> block with the theme colours (cw-ok, cw-bad, "
                "cw-note, cw-muted, cw-lit), the picture's theme switch and the compact controls",
    "cw-header": "HBox: the title and the Projector button",
    "cw-title": "HTML: one-line title 'ConvExplorer — move a slider: ...'",
    "cw-presentation": "ToggleButton 'Projector': projector mode (1.5x text, picture drawn at scale 1.5)",
    "cw-panels": "HBox (row, wraps when narrow): cw-left beside cw-right; about 930 x 620 px in all "
                 "with the foldouts closed",
    "cw-left": "VBox, 340 px wide: cw-controls, then cw-calculator (output size and the formula)",
    "cw-right": "VBox: cw-animation (picture at its natural size, player, lit cell), then "
                "cw-torch-panel (PyTorch's verdict line, or its refusal beside ours)",
    "cw-controls": "VBox holding every setting control (one HBox row per setting)",
    "cw-input-row": "HBox: input H, W sliders and their 'H = W' checkbox (likewise cw-kernel-row, "
                    "cw-stride-row, cw-padding-row, cw-dilation-row, cw-output-padding-row)",
    "cw-kernel-row": "HBox: kernel row", "cw-stride-row": "HBox: stride row",
    "cw-padding-row": "HBox: padding row", "cw-dilation-row": "HBox: dilation row",
    "cw-output-padding-row": "HBox: output_padding row (transposed convolution only)",
    "cw-flags": "HBox: ceil_mode and count_include_pad checkboxes",
    "cw-channels": "HBox: in_channels, out_channels, groups",
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
    "cw-input-d": "IntSlider: input depth, first on its row (3-D only; likewise cw-kernel-d, "
                  "cw-stride-d, cw-padding-d, cw-dilation-d, cw-output-padding-d); in 1-D a row "
                  "shows its one slider (cw-input-h...) and no W or 'H = W'",
    "cw-kernel-d": "IntSlider: kernel depth (3-D)", "cw-stride-d": "IntSlider: stride depth (3-D)",
    "cw-padding-d": "IntSlider: padding depth (3-D)", "cw-dilation-d": "IntSlider: dilation depth (3-D)",
    "cw-output-padding-d": "IntSlider: output_padding depth (3-D)",
    "cw-depth": "IntSlider (in cw-cell): the output depth slice the picture shows (3-D only)",
    "cw-depth-caption": "HTML above the picture: which input depth slices the shown output depth "
                        "slice reads (3-D only)",
    "cw-ceil-mode": "Checkbox: ceil_mode (pooling only)",
    "cw-count-include-pad": "Checkbox: count_include_pad (average pool only)",
    "cw-in-channels": "BoundedIntText: in_channels",
    "cw-out-channels": "BoundedIntText: out_channels (convolutions only)",
    "cw-groups": "BoundedIntText: groups (convolutions only)",
    "cw-calculator": "VBox: the calculator panel (title, cw-output-size, cw-formula)",
    "cw-output-size": "HTML: 'Output: 16 × 16' (height × width), or 'Output: refused' for a "
                      "setting PyTorch refuses",
    "cw-formula": "HTMLMath: per-dimension derivation in LaTeX (\\( ... \\)), or the refusal sentence",
    "cw-formula-text": "HTML: the same derivation as plain text, e.g. "
                       "'height: ⌊(32 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 16'",
    "cw-params": "HTML: 'Parameters: 10 = 1·1·3·3 weights + 1 bias' (0 for pooling)",
    "cw-receptive-field": "HTML: 'Receptive field: 3 × 3 input cells per output cell ...'",
    "cw-animation": "VBox: the animation panel",
    "cw-picture": "Image: the picture's PNG in the light colouring, at its natural pixel size "
                  "(width/height attributes = the PNG's); shown unless the page is JupyterLab Dark "
                  "(body[data-jp-theme-light=false]); hidden (display none) on a refused setting "
                  "and in live mode; with the frames ahead (the default), hidden while the setting is 2-D",
    "cw-picture-dark": "Image: the same frame in the dark colouring; shown only under "
                       "body[data-jp-theme-light=false]",
    "cw-picture-live": "ipympl Canvas with the same figure, only with ConvExplorer(live=True) or "
                       "when %matplotlib widget is active (then cw-picture is hidden)",
    "cw-picture-error": "HTML: the refusal explanation shown in place of the picture (hidden otherwise)",
    "cw-play": "Play: walks cw-step across the output cells (jslink'd to cw-step); its interval "
               "follows cw-speed",
    "cw-speed": "Dropdown: Play speed, '1 step/s' .. '50 steps/s' (default 2.5 steps/s = 400 ms)",
    "cw-step": "IntSlider 'step' (no readout): output cell number (row-major), 0 .. cells-1",
    "cw-step-counter": "HTML: 'step 1/9', counted from 1 as the picture counts",
    "cw-row": "IntSlider: output row of the current cell",
    "cw-col": "IntSlider: output column of the current cell",
    "cw-step-label": "HTML: 'output cell (r, c) reads input rows a–b, cols c–d'",
    "cw-torch-panel": "HTML, always in view: PyTorch's verdict in one line, 'PyTorch: "
                      "torch.Size([1, 1, 3, 3]) ✓ agrees with the calculator (3 × 3)' (or '✗ "
                      "disagrees ...'); when refused: PyTorch's own error message beside "
                      "convwidget's explanation ('✓ both refuse'), the only place the sentence is said",
    "cw-foldouts": "Accordion, all closed at first: 'Values PyTorch computed' (cw-torch-values), "
                   "'Parameters and receptive field' (cw-details), 'Export' (cw-export); "
                   "ConvExplorer.add_foldout(title, widget) appends more",
    "cw-torch-values": "HTML: the nn code, the input, input and output torch.Size, the parameter "
                       "count and the output values (channel 0, outputs of at most 144 cells) "
                       "with the lit cell highlighted (class cw-lit)",
    "cw-details": "VBox: cw-params, cw-receptive-field, cw-formula-text",
    "cw-export": "VBox: the export buttons (HBox cw-export-buttons) and cw-export-link",
    "cw-export-buttons": "HBox: cw-export-gif, cw-export-html, cw-export-progress",
    "cw-export-gif": "Button 'Export GIF'",
    "cw-export-html": "Button 'Export HTML player'",
    "cw-export-progress": "IntProgress: frames rendered while exporting (hidden when idle)",
    "cw-export-link": "HTML: '⬇ download <name>' (an <a download href='data:...'> link: nothing is "
                      "written on the server), or the sentence why not (over 8 MiB, refused setting)",
    "cw-error": "HTML: an unexpected exception inside a callback, shown as text (hidden when none)",
    # quiz mode (ConvExplorer(quiz=True)): until the answer, cw-controls, cw-panels' children,
    # cw-torch-panel and cw-export are hidden and their texts empty
    "cw-quiz": "VBox: the quiz (quiz mode only), above the controls",
    "cw-quiz-prompt": "HTML: 'Quiz (level, difficulty n): An input of 11 cells goes through "
                      "nn.Conv1d(...). How many cells does the output have?'",
    "cw-quiz-picture": "Image: the input strip, its padding and the first window (no output side); "
                       "hidden for a transposed convolution",
    "cw-quiz-picture-dark": "Image: the same strip in the dark colouring (shown only under "
                            "body[data-jp-theme-light=false], as cw-picture-dark)",
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

#: The CSS classes of the channel view's widgets (:class:`~.valuesview.ValuesView`, a folded
#: section of ConvExplorer), for a browser test, with what each is.
VIEW_CLASSES: dict[str, str] = {
    "cw-values-style": "HTML: the view's <style> block (which picture each theme shows), hidden",
    "cw-values-controls": "HBox: the output-channel slider and the kernel preset",
    "cw-values-typed-row": "HBox: the typed kernel and its sentence",
    "cw-values-view": "VBox: the whole channel view",
    "cw-out-channel": "IntSlider: the output channel the picture follows",
    "cw-kernel-preset": "Dropdown: the kernel preset (or 'typed kernel')",
    "cw-kernel-typed": "Text: a typed kernel, rows separated by ';'",
    "cw-kernel-error": "HTML: why the typed kernel is not used (empty when it is)",
    "cw-channels-picture": "Image: the channel picture, light colouring",
    "cw-channels-picture-dark": "Image: the same frame, dark colouring (shown in a dark JupyterLab)",
    "cw-cell-sum": "HTML: the lit cell's sum with its numbers and PyTorch's value",
    "cw-channels-message": "HTML: why no picture is drawn (empty when it is)",
}
CSS_CLASSES.update(VIEW_CLASSES)

#: ModelExplorer's CSS classes added since issue 12 (the other ``cw-model-*`` classes are named
#: in convwidget/explorer/model.py); kept apart from :data:`CSS_CLASSES`, ConvExplorer's own.
MODEL_CSS_CLASSES: dict[str, str] = {
    "cw-style": "HTML (display none): the theme's <style> block (as in ConvExplorer); the answer, "
                "problems and error texts name its classes cw-ok, cw-bad, cw-muted",
    "cw-model-picture": "Image (PNG bytes): the net picture, TraceReport.plot(), redrawn in place "
                        "on each input-size change; a failing step in the error colour",
    "cw-model-picture-dark": "Image (PNG bytes): the same net picture on JupyterLab Dark's page "
                             "(NetPicture.to_png(theme='dark')); the cw-style block shows one of the two",
}
