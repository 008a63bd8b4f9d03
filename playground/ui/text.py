"""The teaching text shown in each tab: Markdown with LaTeX between $$ (display) or \\( \\) (inline).

Kept apart from the layout so the words can be read and corrected in one place. The losses
match playground/losses.py exactly (D(x) = sigmoid of D's logit, written \\(\\ell\\)).
"""
from __future__ import annotations

# Gradio renders LaTeX with KaTeX; these are the delimiters every Markdown block here uses.
LATEX = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\(", "right": "\\)", "display": False},
]

INTRO = r"""
# GAN Playground
Two networks play a game. The **generator** G turns random noise \(z\) into a sample; the
**discriminator** D looks at a sample and says how real it looks, \(D(x) \in (0, 1)\).
D learns to tell real from generated; G learns to fool D. Press **Train** on a preset and watch
them play: the **Train** tab trains, **Sample** draws from a model, **Discriminator** looks
inside D.
"""

TRAIN_HELP = r"""
### The game
The original minimax objective (Goodfellow et al., 2014), which D maximises and G minimises:

$$\min_G \max_D \; \mathbb{E}_{x \sim p_{\text{data}}}\big[\log D(x)\big] + \mathbb{E}_{z \sim p_z}\big[\log\big(1 - D(G(z))\big)\big]$$

Each network *minimises* a loss. With \(D(x) = \sigma(\ell(x))\), where \(\ell\) is D's raw output:

| loss | D minimises | G minimises |
|---|---|---|
| minimax | \(-\mathbb{E}[\log D(x)] - \mathbb{E}[\log(1 - D(G(z)))]\) | \(\mathbb{E}[\log(1 - D(G(z)))]\) |
| non-saturating | same as minimax | \(-\mathbb{E}[\log D(G(z))]\) |
| lsgan | \(\tfrac12\mathbb{E}[(\ell(x) - 1)^2] + \tfrac12\mathbb{E}[\ell(G(z))^2]\) | \(\tfrac12\mathbb{E}[(\ell(G(z)) - 1)^2]\) |
| hinge | \(\mathbb{E}[\max(0, 1 - \ell(x))] + \mathbb{E}[\max(0, 1 + \ell(G(z)))]\) | \(-\mathbb{E}[\ell(G(z))]\) |
| wgan-gp | \(\mathbb{E}[\ell(G(z))] - \mathbb{E}[\ell(x)] + \lambda\,\mathbb{E}[(\lVert\nabla_{\hat x}\ell(\hat x)\rVert_2 - 1)^2]\) | \(-\mathbb{E}[\ell(G(z))]\) |

D's minimax loss is binary cross-entropy with reals labelled 1 and fakes labelled 0. G's minimax
loss *saturates*: when D confidently rejects the fakes (early in training) its gradient vanishes.
The non-saturating loss has the same fixed point and strong gradients when G is losing, which is
why it is the default. In WGAN-GP, \(\hat x\) is a random point between a real and a fake sample.

### Reading the live view
The view is drawn in your browser from fresh numbers many times a second; between two of them
the points glide, so nothing jumps. **Pause** freezes it.
- **Progress and status**: the step, the step target, how fast it trains. A single step (Step D
  only, Step G only, Step both) says what it did: D's mean score of a fixed batch of reals,
  \(D(x)\), and of fakes, \(D(G(z))\), before and after.
- **Losses**: D's and G's losses. They do not fall steadily like a classifier's: each network's
  progress is the other's setback. Wild swings or a loss stuck near 0 mean trouble.
- **D(x) and D(G(z))**: D's average score of real and of generated samples. At the game's
  equilibrium D cannot tell them apart and both sit near 0.5. D(x) near 1 with D(G(z)) near 0
  means D is winning easily.
- On both charts, **hover** for the step and every value, **drag** across to zoom into a range of
  steps, **double-click** to zoom out. Dashed marks show where you changed a setting while
  training (the list under the charts names them all).
- **Fixed-noise grid** (images): the same 64 noise vectors (seeds 0 to 63) drawn through G as it
  learns, pixel for pixel. Hover a sample for its seed and D's score of it.
- **2D view** (toy data): green points are real, purple ones generated (always the same 512 noise
  vectors). The background is D's verdict: green where D says "real", purple where it says
  "fake", white where it cannot tell. Arrows show where the next generator step pushes each
  generated point: towards D's greener ground. Switch each layer on or off under the view; hover
  a generated point for its seed, D's score and G's push.
- Before any run, the view shows the real data of the chosen preset: what G must learn.

### GAN Lab's layers, and more (2D data)
- **The model overview** (above the view): noise \(z\) → G → fakes \(G(z)\) → D ← real \(x\),
  D's verdicts and the two losses, with the numbers of the last step (the status line gives the
  same once the run stands still). The **D step** path (blue: D scores reals and fakes, its loss
  updates D) and the **G step** path (purple: G's fakes, D's verdict, G's loss updates G) light
  up in turn while training; they alternate every iteration, a few milliseconds each, so the
  lighting is slowed down. **Hover G** to watch noise turn into samples.
- **Real density contour**: lines enclosing 50, 90 and 99 % of the real data (its density is
  known exactly for every data set here, your own points included).
- **G's manifold**: a 20 × 20 grid over the noise, pushed through G. A cell is dark where G packs
  much of the noise into little room (many samples land there), pale where it stretches it thin.
  Uniform noise covers the square \([-1, 1]^2\) exactly; Gaussian noise the square
  \([-2, 2]^2\) (two standard deviations). With \(z\) of one dimension the manifold is a curve;
  with more than two, the view shows a 2D **slice**: the two axes you choose vary, every other
  coordinate is 0. *Noise* (Advanced) chooses Gaussian or uniform \(z\), and *z dimension* can be 1 or 2.
- **Optimal D\***: for a fixed G the best discriminator is
  $$D^*(x) = \frac{p_{\text{data}}(x)}{p_{\text{data}}(x) + p_g(x)}$$
  (Goodfellow et al. 2014). Shown beside D's own map: the data's density is known, G's is
  estimated from 2,500 of its samples (each blurred by half a cell, the data's the same way).
  Grey: neither puts mass there. The number says how far D is from D\* where the data and G
  are. Where G matches the data, \(D^* = 1/2\): D can do no better than a coin.
- **KL and JS divergence** (the third chart, GAN Lab's metric): between the real data and G's
  samples on a 50 × 50 grid, in nats, over the steps, with the share of high-quality samples.
- **Hover** a generated point for its noise \(z\), D's score and where G's next step pushes it;
  **click** it to follow it: its trail and a read-out under the view (click again to stop).
- **Step, slowly** takes one iteration apart, stage by stage: the noise batch, G's fakes, D's
  scores, D's loss with the formula of the chosen game and its numbers filled in, D's update (the
  background changes), a fresh batch for G, G's gradients (the arrows) and G's update (the
  points move along them). **Next stage** goes one at a time, **Play** a stage a second. It is a
  real step of the run, counted like any other; the points are G's own, not its average.
- **Your own data**: press **✏️ Draw data** under the view and draw: a stroke lays points along
  it, a click drops a small cluster, each with a little jitter. Or pick the dataset *points* and
  upload a CSV of `x,y` rows (a header naming `x` and `y` is fine; at most 10,000 points within
  \([-10, 10]\)). Train uses the settings of the form (the preset's recipe) on your points: each
  batch picks among them and adds a small Gaussian jitter, so the data has a density. The points
  travel in checkpoints: Sample, the Discriminator tab and Continue work on them.
- **Quality** says how good the model is in one sentence, next to the bar a good model meets
  (measured every N steps while training, or with **Measure quality**); all the numbers fold out.
- If training **diverges** (a loss or weight becomes NaN), the model goes back to its last good
  state; **Back to the last good settings** undoes your last live edit, and brings back the run
  as it was just before it (for your last two edits); press it again to walk further back.

### Lessons, comparing runs, taking it home
- **Lessons: guided experiments** (beside the view) sets up a run, or several to compare, with
  one click each, and says what to watch. What each lesson claims is measured on its runs
  (`playground lesson NAME` checks it), not just said.
- **Runs side by side** (under the file buttons): *Keep this run* puts the current run aside, paused,
  so the next Train starts a new one; up to 3 are kept. The table and the overlaid curves compare
  them; the Sample and Discriminator tabs can use a kept run.
- **Show the code** gives this run as one Python file: `python run.py` trains the same recipe
  with torch alone and saves a checkpoint this page opens. **Copy link** gives the settings as a
  link: whoever opens it gets the same form.
"""

SAMPLE_HELP = r"""
### Sampling
A **seed** names one noise vector \(z \sim \mathcal N(0, I)\), so the same seed always gives the
same sample, whichever other seeds share the grid.

**Truncation** \(\psi \in (0, 1]\) draws \(\psi z\) instead of \(z\), pulling every noise vector
towards the centre. A little truncation (\(\psi\) around 0.7-0.9) gives more typical, less
varied samples. Much more does not, for a plain GAN like these: in \(d\) dimensions a Gaussian
\(z\) almost always has length close to \(\sqrt d\) (about 5.7 for the DCGAN's \(d = 32\)), so
G only ever trained on vectors on that thin shell. At \(\psi = 0.3\) every vector is far inside
it, where G's BatchNorm statistics no longer fit, and the samples fade towards one faint average
blob. (StyleGAN's truncation works further because it pulls towards the average of a *learned*
latent space, which a plain GAN does not have.)

**Interpolation** walks from seed A's \(z_A\) to seed B's \(z_B\). *lerp* is the straight line
\((1 - t) z_A + t z_B\), which cuts inside the shell (its midpoint is shorter); *slerp* follows
the sphere where Gaussian noise actually lives:

$$\mathrm{slerp}(z_A, z_B; t) = \frac{\sin((1 - t)\,\Omega)}{\sin \Omega} z_A + \frac{\sin(t\,\Omega)}{\sin \Omega} z_B, \qquad \cos \Omega = \frac{z_A \cdot z_B}{\lVert z_A\rVert\,\lVert z_B\rVert}$$

For a 2D model the samples are drawn as points over the real data (pale green).
"""

DISCRIMINATOR_HELP = r"""
### What does D think?
D's **score** of a sample is \(D(x) = \sigma(\ell(x))\): near 1 means "looks real", near 0
"looks fake". The report scores held-out real images and generated ones:
- **Histograms**: where the two sets of scores fall. Well-separated humps mean D tells them apart
  easily; overlapping humps mean G is fooling it.
- **Accuracy**: the share judged right at the 0.5 threshold (reals \(\ge 0.5\), fakes \(< 0.5\)).
- **ROC AUC**: the chance that a random real scores higher than a random fake, 1 = perfect
  separation, 0.5 = coin toss.
- **Saliency**: \(\lvert \partial \ell / \partial x \rvert\) per pixel: the pixels where a small change
  would most move D's verdict, in red over what D saw (your image, converted to the model's size
  and colours: the note under the verdict says how).
- **Why a good GAN's D says about 0.5 to everything**: for a fixed G the best discriminator is
  \(D^*(x) = p_{\text{data}}(x) / (p_{\text{data}}(x) + p_g(x))\). When G has learned the data's
  distribution, \(p_g = p_{\text{data}}\) and \(D^* = 1/2\) everywhere: D has nothing left to go on.
"""
