#!/usr/bin/env python3
"""Independent evaluation of `modelsec serve`'s misuse monitor: published attack implementations
(ART 1.20.1) and realistic benign clients over HTTP against the digits MLP, then the server's own
event log read back to say, per client session, whether and when it was flagged.

Run through bench/field/monitor_eval.sh (which makes the pinned venv). Everything is on
127.0.0.1; the server is started and stopped here. See bench/field/monitor-eval-notes.md.

Definitions (per session; a session is one client, with one API key, five for Sybil):
  query         one row the attack itself asked the model about (ART counts these). Padding rows
                of a padded attack are not queries. Benign sessions: every row is a query.
  flagged       at least one `kind: finding` event in the log whose client is one of the
                session's keys.
  alert         the first request of the session that produced a finding. Its position is found
                by order: requests are sent one at a time in the whole run (a baton), so a key's
                request events in the log (ordered by seq) are, one for one, the requests the
                harness sent with that key; findings name their request id. The harness checks
                the counts and body sizes match. `alert query` = the attack's queries sent up to
                and including that request (exact for one-row requests; for a batch request the
                alert is charged to its last row).
  success       evasion: the first answered query whose label differs from the true label,
                within the attack's budget: Square inside its L-inf ball (eps 0.125, +0.008 with
                jitter, by construction); HopSkipJump and SimBA at L2 <= 1.0 (= 0.125 * sqrt(64),
                the L2 radius of moving every pixel by 0.125) — without a distance limit
                HopSkipJump's random start would "succeed" at its first query.
                extraction: surrogate agreement with the served model (on held-out digits never
                sent by anyone) after 500 / 1,000 / 2,000 queries.
  caught before success
                the alert came on a request no later than the one whose answer gave the first
                success (so a `block` action on that signal would have withheld it).
"""
import argparse
import collections
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import requests  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

import logging  # noqa: E402

logging.getLogger("art").setLevel(logging.ERROR)
from art.attacks.evasion import BoundaryAttack, HopSkipJump, SimBA, SquareAttack, ZooAttack  # noqa: E402
from art.attacks.extraction import KnockoffNets  # noqa: E402
from art.estimators.classification import BlackBoxClassifierNeuralNetwork  # noqa: E402
from art.estimators.classification.scikitlearn import ScikitlearnClassifier  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(ROOT, "tests", "fixtures", "onnx", "digits_mlp.onnx")
MODEL_NAME = "digits_mlp"
D = 64
SIDE = 8

# ---------------------------------------------------------------------------------------------
# Session plan. Full run: the classes of the issue's independent evaluation.
FULL = collections.OrderedDict([
    ("benign-shared", 40),    # clients drawing from a shared popular pool of real digits
    ("benign-private", 12),   # clients whose images no other client sends
    ("square", 10),           # ART SquareAttack, L-inf eps 0.125, one key
    ("square-sybil", 3),      # the same, requests round-robin over 5 keys
    ("square-jitter", 3),     # the same, +-0.008 uniform jitter on every value of every query
    ("simba", 5),             # ART SimBA, pixel basis (the paper's Algorithm 1), step 0.2
    ("simba-dct", 3),         # ART SimBA-DCT (ART's default basis), step 0.2
    ("hsj-noise", 5),         # ART HopSkipJump, label-only, from ART's random-noise start
    ("hsj-natural", 3),       # the same from a natural digit of another class
    ("jbda", 4),              # Papernot et al. 2017 Jacobian-based augmentation, 2,000 queries
    ("knockoff", 3),          # ART KnockoffNets (random), 2,000 augmented natural digits
    ("padded", 4),            # label-only attacks placed after 64 natural rows in each request
    ("square-interleaved", 4),  # Square, one key, --interleave (default 2) natural requests of the
                                # attacker's own before every attack query (new images, re-sends)
    ("hsj-interleaved", 3),   # HopSkipJump from a natural start, interleaved the same way
])
QUICK = collections.OrderedDict([
    ("benign-shared", 10), ("benign-private", 3), ("square", 2), ("square-sybil", 1),
    ("square-jitter", 1), ("simba", 1), ("simba-dct", 1), ("hsj-noise", 1), ("hsj-natural", 1), ("jbda", 1),
    ("knockoff", 1), ("padded", 2), ("square-interleaved", 1), ("hsj-interleaved", 1),
])
# Unseen attack classes, fixed (2026-12-01) by an independent evaluator before any tuning of the
# fourth round: in the plan but not in FULL or QUICK (0 sessions unless --heldout-attacks, which
# gives these counts, or --counts names them). Evasion, success defined as for their families.
HELDOUT_ATTACKS = collections.OrderedDict([
    ("boundary", 3),            # ART BoundaryAttack, label-only, untargeted, ART's random-noise
                                # start, max_iter 100 (about 3,000 queries, 250 requests)
    ("zoo", 3),                 # ART ZooAttack, score-based, coordinate-wise (16 coordinates, 32
                                # rows, an iteration), 100 iterations (3,302 queries, 202 requests)
    ("square-wide-jitter", 3),  # Square, L-inf eps 0.2, +-0.02 uniform jitter on every value
    ("square-spread", 3),       # Square, eps 0.125, attack requests round-robin over 3 keys, each
                                # preceded by --interleave cover requests on the same key
])
HELDOUT_EVASION = set(HELDOUT_ATTACKS)
# Their originals: second-half evasion rows at these offsets (no original of another class; the
# natural starts of the default counts almost always use other offsets), cycled by session index.
HELDOUT_ORIG2 = {"boundary": (33, 34, 35), "zoo": (22, 23, 24), "square-wide-jitter": (6, 7, 8),
                 "square-spread": (9, 25, 36)}
# Unseen attack classes of held out 5, fixed (2026-12-01) by an independent evaluator before any
# tuning of the fifth round: 0 sessions unless --heldout5-attacks (which gives these counts) or
# --counts names them. Evasion; success as documented in setup_heldout5_attack. Query budgets are
# capped so that the four classes add at most about 5 minutes a seed on 2 shared cores.
HELDOUT5_ATTACKS = collections.OrderedDict([
    ("geoda", 3),               # ART GeoDA (Rahmati et al. 2020), label-only, L2, DCT subspace
                                # sub_dim 8 (all of the 8x8), max_iter 2500 (its query budget:
                                # about 2,400-3,100 queries, gradient probes 64 rows a request,
                                # about 300 requests)
    ("signopt", 3),             # ART SignOPTAttack (Cheng et al. 2020), label-only, untargeted,
                                # k 100 sign probes an iteration, query_limit 1500 (ART checks it
                                # after each iteration: at most about 1,800 queries), every query
                                # its own one-row request
    ("hsj-targeted", 3),        # ART HopSkipJump, targeted (the class of a natural start of
                                # another class), L2, max_iter 15, max_eval 200 (about 2,000-3,000
                                # queries, batches of 64, about 100-200 requests)
    ("simba-cover-jitter", 3),  # ART SimBA-DCT, epsilon 0.1, +-0.008 jitter on every value of every
                                # query, --interleave cover requests before every attack request on
                                # the same key, max_iter 400 (at most 801 queries, about 2,400
                                # requests with cover)
])
HELDOUT5_EVASION = set(HELDOUT5_ATTACKS)
# Originals: second-half evasion rows at offsets no other class uses, neither as an original nor
# as the natural start of the default counts (cycled by session index); hsj-targeted's natural
# starts: the first row of another class from offset 28 on (wrapping round).
HELDOUT5_ORIG2 = {"geoda": (0, 1, 2), "signopt": (4, 5, 11), "hsj-targeted": (13, 14, 15),
                  "simba-cover-jitter": (20, 21, 27)}
HELDOUT5_START2 = 28
# Unseen attack classes of held out 6, fixed (2026-12-01, 15:35 UTC) by an independent evaluator before any
# tuning of the sixth round: 0 sessions unless --heldout6-attacks (which gives these counts) or
# --counts names them. Success as documented in setup_heldout6_attack.
HELDOUT6_ATTACKS = collections.OrderedDict([
    ("pixel", 3),               # ART PixelAttack (Su et al. 2019's one-pixel attack; Vargas et al.
                                # 2019), L0, differential evolution (es 1) over one pixel (x, y,
                                # value), score-based, max_iter 6 generations of 399 rows (at most
                                # about 2,800 queries, one request a generation plus a one-row
                                # success check)
    ("threshold", 3),           # ART ThresholdAttack (Kotyan & Vargas 2019), L-inf 32/255 (about
                                # the Square eps 0.125), differential evolution (es 1) over all 64
                                # pixels, score-based, max_iter 6 generations of 384 rows (at most
                                # about 2,700 queries, one request a generation plus a one-row
                                # success check)
    ("hsj-linf-spread", 3),     # ART HopSkipJump, untargeted, L-inf, label-only, from a natural
                                # digit of another class, requests round-robin over 3 keys, each
                                # preceded by --interleave cover requests on the same key
    ("activethief", 3),         # ActiveThief (Pal et al. 2020) extraction, uncertainty (entropy)
                                # sampling from 4,000 augmented natural digits, label-only,
                                # rounds of 250, 2,000 queries, 125 rows a request
    ("knockoff-adaptive", 3),   # ART KnockoffNets, adaptive strategy (Orekondy et al. 2019's
                                # gradient bandit over the attacker's own classes, reward "all"),
                                # 2,000 augmented natural digits, scores, one row a request
                                # (2,000 requests), the thief trained incrementally each query
])
HELDOUT6_EVASION = {"pixel", "threshold", "hsj-linf-spread"}
# Originals: second-half evasion rows at offsets no dev class uses as an original or (for the
# default counts) as a natural start, and no other held-out-6 class uses (held out 4's and 5's
# classes, never run together with these, may share them); hsj-linf-spread's natural starts: the
# first row of another class from these offsets on (by session index).
HELDOUT6_ORIG2 = {"pixel": (16, 18, 37), "threshold": (39, 0, 1), "hsj-linf-spread": (2, 4, 5)}
HELDOUT6_START2 = (20, 22, 24)
# Unseen attack classes of held out 7, fixed (2026-12-01, 18:19 UTC) by an independent evaluator before any
# tuning of the seventh round: 0 sessions unless --heldout7-attacks (which gives these counts) or
# --counts names them. Success as documented in setup_heldout7_attack. Written from their papers
# (ART 1.20.1 has none of them).
HELDOUT7_ATTACKS = collections.OrderedDict([
    ("nes", 3),                 # Ilyas et al. 2018's NES gradient estimate (25 antithetic Gaussian
                                # pairs, sigma 0.01) in L-inf PGD (eps 0.125, step 0.02), score-based,
                                # the iterate and its 50 probes one request (51 rows), at most
                                # 2,000 queries (39 requests)
    ("bandits", 3),             # Ilyas, Engstrom & Madry 2019's bandit attack with a time prior
                                # (L-inf eps 0.125, image step 0.01, finite differences at L2 0.1,
                                # online lr 100, 1-pixel tiles), score-based, the iterate and its
                                # two probes one request (3 rows), at most 2,000 queries
    ("rays", 3),                # Chen & Gu 2020's RayS, L-inf, label-only, hierarchical sign-block
                                # search with binary searches (tol 1e-3), one row a request, stops
                                # inside eps 0.125, at most 1,500 queries
    ("nes-mixed", 3),           # nes, its 51 rows of each request shuffled among as many of the
                                # attacker's own natural digits (rescaled, jittered) at random
                                # places in the batch (102 rows a request)
    ("kcenter", 3),             # extraction by k-center greedy core-set selection (Sener &
                                # Savarese 2018; an ActiveThief strategy other than entropy) over
                                # 4,000 augmented natural digits in the substitute's probability
                                # space, rounds of 200, 50 rows a request, scores, 2,000 queries
])
HELDOUT7_EVASION = {"nes", "bandits", "rays", "nes-mixed"}
# Originals: second-half evasion rows at offsets no dev class uses as an original or (for the
# default counts) as a natural start, and no other held-out-7 class uses (older held-out classes,
# never run together with these, may share them).
HELDOUT7_ORIG2 = {"nes": (6, 7, 8), "bandits": (9, 13, 14), "rays": (15, 21, 22), "nes-mixed": (23, 24, 25)}
# Unseen attack classes of held out 8, fixed (2026-12-01, 21:18 UTC) by an independent evaluator before any
# tuning of the eighth round: 0 sessions unless --heldout8-attacks (which gives these counts) or
# --counts names them. Success as documented in setup_heldout8_attack. Written from their papers
# (ART 1.20.1 has none of them).
HELDOUT8_ATTACKS = collections.OrderedDict([
    ("parsimonious", 3),        # Moon, An & Song 2019 (Parsimonious black-box adversarial attacks via
                                # efficient combinatorial optimization): L-inf eps 0.125, score-based,
                                # vertices of the ball only (every pixel x0 +- eps), accelerated lazy
                                # greedy insertion / deletion of blocks, hierarchical blocks 2x2 then
                                # 1x1, margin (CW) loss; a block sweep one request (16 or 64 rows, the
                                # paper's batch of 64), each lazy re-evaluation one row; at most 2,000
                                # queries
    ("genattack", 3),           # Alzantot et al. 2019 (GenAttack), L-inf eps 0.125, score-based genetic
                                # search: population 6, elitism, fitness-proportional selection
                                # (softmax, temperature 0.3), crossover, mutation probability 0.05 and
                                # range 0.15 x eps with the paper's plateau schedule; one generation a
                                # request (6 rows), at most 2,000 queries
    ("evolutionary", 3),        # Dong et al. 2019 (Efficient decision-based black-box adversarial
                                # attacks on face recognition): label-only, L2, (1+1)-CMA-ES with a
                                # diagonal covariance in a 4x4 search space upsampled bilinearly to
                                # 8x8, stochastic coordinate selection, a bias mu towards the original
                                # (1/5th success rule), from a random-noise start; one row a request,
                                # at most 2,000 queries
    ("eqsolve", 3),             # Tramer et al. 2016 (Stealing machine learning models via prediction
                                # APIs), the equation-solving / retraining attack on a softmax MLP:
                                # 2,000 inputs uniform at random in [0, 1]^64, the full probability
                                # vector asked for, non-adaptive, 100 rows a request
    ("dfme", 3),                # Truong et al. 2021 (Data-free model extraction): a small generator
                                # (16 -> 64 -> 64, tanh) against a student MLP, the generator trained
                                # on a zeroth-order forward-difference estimate of the student-teacher
                                # L1 disagreement (m 1 direction, eps 1e-3), 5 student steps a
                                # generator step, batches of 50, scores; 2,000 queries
])
HELDOUT8_EVASION = {"parsimonious", "genattack", "evolutionary"}
# Originals: second-half evasion rows at offsets no dev class uses as an original, nor (for the
# default counts) as a natural start unless a same-class row moves padded-02's start on from 38,
# and no other held-out-8 class uses (older held-out classes, never run together with these, may
# share them).
HELDOUT8_ORIG2 = {"parsimonious": (0, 1, 2), "genattack": (33, 34, 35), "evolutionary": (36, 37, 39)}
PARSI_BUDGET = 2000
PARSI_BLOCKS = (2, 1)
GEN_POP = 6
GEN_TEMP = 0.3
GEN_MUT_P = 0.05
GEN_MUT_RANGE = 0.15
GEN_BUDGET = 2000
EVO_SIDE = 4
EVO_K = 4
EVO_CC = 0.01
EVO_CCOV = 0.001
EVO_MU = 0.01
EVO_SIGMA_FRAC = 0.01
EVO_WINDOW = 30
EVO_BUDGET = 2000
EQ_BATCH = 100
DFME_NZ = 16
DFME_BATCH = 50
DFME_NS = 5
DFME_EPS = 1e-3
DFME_LR_G = 1e-3
DFME_LR_S = 0.1
# Unseen attack classes of held out 9, fixed (2026-12-02, 00:20 UTC) by an independent evaluator before any
# tuning of the ninth round: 0 sessions unless --heldout9-attacks (which gives these counts) or
# --counts names them. Success as documented in setup_heldout9_attack. Written from their papers
# (ART 1.20.1 has none of them).
HELDOUT9_ATTACKS = collections.OrderedDict([
    ("signflip", 3),            # Chen et al. 2020 (Boosting decision-based black-box adversarial
                                # attacks with random sign flip): label-only, L-inf, a uniform-noise
                                # start, an L-inf binary search, then per iteration a project step and
                                # a random sign flip (adaptive flip probabilities, scaled to 64 values),
                                # one row a request, stops inside eps 0.125, at most 2,000 queries
    ("surfree", 3),             # Maho et al. 2021 (SurFree: a fast surrogate-free black-box attack):
                                # label-only, L2, a blended uniform-noise start, then searches on circles
                                # in 2-D planes spanned by random low-frequency DCT directions (theta_max
                                # 30, T 3, rho 0.98, binary search on the angle), one row a request,
                                # stops at L2 1.0, at most 2,000 queries
    ("nattack", 3),             # Li et al. 2019 (NATTACK: learning the distributions of adversarial
                                # examples): score-based, L-inf eps 0.125, a Gaussian in arctanh space
                                # moved by NES (population 40, sigma 0.1, lr 0.02), the mean image and
                                # its 40 samples one request (41 rows), at most 2,000 queries
    ("prgf", 3),                # Cheng et al. 2019 (Improving black-box adversarial attacks with a
                                # transfer-based prior): P-RGF, score-based, L-inf eps 0.125, random
                                # gradient-free estimates biased towards a surrogate's gradient (an MLP
                                # the attacker trained on its own digits), q 10, lr 0.0125, at most
                                # 2,000 queries
    ("copycat", 3),             # Correia-Silva et al. 2018 (Copycat CNN: stealing knowledge by
                                # persuading confession with random non-labeled data): extraction with
                                # non-problem-domain images (2,000 handwritten capital letters on the
                                # optdigits 1/16 grid), labels only, 50 rows a request, round-robin over
                                # 4 keys
])
HELDOUT9_EVASION = {"signflip", "surfree", "nattack", "prgf"}
# Originals: second-half evasion rows at offsets no dev class uses as an original, nor (for the
# default counts) as a natural start (3, 10, 12, 17, 19, 26, 38) or as the next offset a start moves
# on to when that row has its original's class (4, 11, 13, 18, 20, 27, 39), and no other held-out-9
# class uses; 28 and 29 no earlier class uses at all, the others older held-out classes (never run
# together with these) share.
HELDOUT9_ORIG2 = {"signflip": (28, 29, 16), "surfree": (14, 15, 21), "nattack": (22, 23, 24), "prgf": (5, 6, 7)}
SFA_BUDGET = 2000
SFA_ALPHA = 0.004
SFA_FLIP = 1.0 / 64
SURFREE_BUDGET = 2000
SURFREE_FREQ = 0.5
SURFREE_ORTHO = 100
SURFREE_RHO = 0.98
NATTACK_POP = 40
NATTACK_SIGMA = 0.1
NATTACK_LR = 0.02
NATTACK_BOX = 0.9
NATTACK_BUDGET = 2000
PRGF_Q = 10
PRGF_S = 10
PRGF_LR = 0.0125
PRGF_BUDGET = 2000
COPYCAT_BATCH = 50
COPYCAT_KEYS = 4
# Unseen attack classes of held out 10, fixed (2026-12-02, 03:34 UTC) by an independent evaluator before any
# tuning of the tenth round: 0 sessions unless --heldout10-attacks (which gives these counts) or
# --counts names them. Success as documented in setup_heldout10_attack. Written from their papers
# (ART 1.20.1 has none of them).
HELDOUT10_ATTACKS = collections.OrderedDict([
    ("signhunter", 3),          # Al-Dujaili & O'Reilly 2020 (Sign bits are all you need for black-box
                                # attacks, ICLR): SignHunter, score-based, L-inf eps 0.125, the
                                # perturbation always at a vertex of the ball (x0 + eps * sign), a
                                # hierarchical divide-and-conquer flip of contiguous chunks of the sign
                                # vector (halves, quarters, ... single values, then again), a flip kept
                                # when the cross-entropy loss does not fall; one row a request, stops at
                                # the first misclassification, at most 2,000 queries
    ("sparse-rs", 3),           # Croce, Andriushchenko, Singh, Flammarion & Hein 2022 (Sparse-RS: a
                                # versatile framework for query-efficient sparse black-box adversarial
                                # attacks, AAAI), the L0 pixel attack: k = 4 of the 64 pixels set to
                                # 0 or 1; each iteration a share alpha of them (alpha_init 0.3, the
                                # paper's piecewise-constant halving schedule rescaled to the budget;
                                # at least one) moved to new random places with new random values,
                                # kept if the margin loss falls; score-based, one row a request, at
                                # most 2,000 queries
    ("qeba", 3),                # Li, Xu, Zhang, Yang & Li 2020 (QEBA: query-efficient boundary-based
                                # blackbox attack, CVPR), QEBA-S: HopSkipJump's iteration (binary search
                                # to the boundary, a Monte-Carlo sign estimate of the gradient there,
                                # a geometric step search) with the probes drawn from a spatial
                                # subspace: N(0, 1) on a 4x4 grid, bilinearly upsampled to 8x8;
                                # label-only, L2, untargeted, a uniform-noise start, 25 probes at the
                                # first iteration growing as sqrt(t) up to 250, the probes of an
                                # iteration one request, every other query one row a request; at most
                                # 2,000 queries
    ("signhunter-rotate", 3),   # adaptive SignHunter: the attacker rotates through 8 API keys (burner
                                # accounts) in blocks: a key switch every 16 queries, the keys in turn
                                # (block round-robin, not one request each), and every block on a key
                                # starts with 2-5 requests of the attacker's own natural digits (a user
                                # session: held-out knockoff-split digits, 30 % with N(0, 0.02) noise)
                                # before its attack queries
    ("trnd", 3),                # Juuti, Szyller, Marchal & Asokan 2019 (PRADA: protecting against DNN
                                # model stealing attacks, EuroS&P), their T-RND synthetic-sample
                                # extraction: 100 natural seeds (the attacker's jbda_seed digits), then
                                # duplication rounds: the substitute trained on everything labelled so
                                # far, every sample moved by a targeted I-FGSM towards a random class
                                # other than its oracle label (eps 0.1 in 4 steps of 0.025, on the
                                # substitute's cross-entropy), 100 rows a request, scores asked,
                                # 2,000 queries
])
HELDOUT10_EVASION = {"signhunter", "sparse-rs", "qeba", "signhunter-rotate"}
# Originals: every one of the 80 evasion rows is already some dev or held-out class's original or a
# natural start (the first half: dev slots 0-39; the second half: held out 4-9's offsets, hsj-
# interleaved's 30-32, and the natural starts 3, 10, 12, 17, 19, 26, 38 and their next rows), and no
# row of the split is untouched by every class of a full run (the shared pool and the private rows
# are benign clients' images; the padding, knockoff and jbda_seed rows the attackers' natural data;
# the baseline and the 7 rest rows the agreement test set). So held out 10 takes its originals from
# the padding split (offsets below, 12 distinct rows): no class uses a padding row as an original or
# a natural start, no benign client sends one, and only the padded and interleaved classes' natural
# traffic (rescaled and jittered padding, cover rows), held out 7's nes-mixed natural rows and held
# out 9's prgf surrogate touch them; the
# knockoff split (which knockoff also sends, augmented) and jbda_seed (which jbda sends as is) are
# touched by more classes. signhunter-rotate's warm-up rows come from the knockoff split, never the
# padding split, so no warm-up row is an original.
HELDOUT10_ORIG_PAD = {"signhunter": (0, 1, 2), "sparse-rs": (3, 4, 5), "qeba": (6, 7, 8),
                      "signhunter-rotate": (9, 10, 11)}
SH_BUDGET = 2000
SRS_K = 4
SRS_ALPHA = 0.3
SRS_BUDGET = 2000
QEBA_SUB = 4
QEBA_INIT_EVAL = 25
QEBA_MAX_EVAL = 250
QEBA_BUDGET = 2000
ROT_QUERIES = 16
ROT_KEYS = 8
ROT_WARMUP = (2, 6)
TRND_SEEDS = 100
TRND_EPS = 0.1
TRND_STEPS = 4
TRND_BATCH = 100
# Unseen attack classes of held out 11, fixed (2026-12-02, 05:20 UTC) by an independent evaluator before any
# tuning of the eleventh round: 0 sessions unless --heldout11-attacks (which gives these counts) or
# --counts names them. Success as documented in setup_heldout11_attack. Written from their papers
# (ART 1.20.1 has none of them).
HELDOUT11_ATTACKS = collections.OrderedDict([
    ("zosign", 3),              # Liu, Chen, Chen & Hong 2019 (signSGD via zeroth-order oracle, ICLR):
                                # ZO-signSGD, score-based, L-inf eps 0.125: the sign of a random
                                # gradient-free estimate (q 10 directions uniform on the unit sphere,
                                # smoothing mu 0.005, forward differences of the CW margin on
                                # log-probabilities) in projected sign descent (step 0.01); the
                                # iterate and its q probes one request (11 rows); stops at the first
                                # misclassified iterate, at most 2,000 queries
    ("opt", 3),                 # Cheng, Le, Chen, Yi, Zhang & Hsieh 2019 (Query-efficient hard-label
                                # black-box attack: an optimization-based approach, ICLR): OPT,
                                # label-only, L2, untargeted: minimises g(theta), the distance to the
                                # boundary along direction theta (fine-grained and binary searches),
                                # by random gradient-free estimates (q 10, beta 0.005) and a
                                # backtracking line search; 100 random initial directions; one row a
                                # request, stops at L2 1.0, at most 2,000 queries
    ("zosign-blind", 3),        # adaptive against stateful (query-history) detection: Chen, Carlini &
                                # Wagner 2020 (Stateful detection of black-box adversarial attacks,
                                # SPAI), query blinding: zosign with every row sent through its own
                                # random transform (contrast U(0.95, 1.05) about 0.5, brightness
                                # U(-0.02, 0.02), uniform noise +-0.03 on every value), so no two
                                # queries are near copies; smoothing raised to mu 0.5 and q 20 so the
                                # estimate survives the blinding noise; at most 2,000 queries
    ("spatial-grid", 3),        # Engstrom, Tran, Tsipras, Schmidt & Madry 2019 (Exploring the landscape
                                # of spatial robustness, ICML): the exhaustive grid attack over
                                # rotations (-30..30 degrees, 31 values) and translations (5 x 5,
                                # +-3/28 of the image: +-0.857 px here, bilinear, zero fill),
                                # label-only, 775 queries, one rotation's 25 translations a request
    ("dissector", 3),           # Wang et al. 2022 (Black-box dissector: towards erasing-based hard-label
                                # model stealing attack, ECCV): hard-label extraction: 550 natural
                                # digits, then rounds of CAM-driven erasing (the substitute's
                                # attention for the victim's label, its top 3x3 region erased), the
                                # erased images whose substitute confidence drops most queried;
                                # labels only, 50 rows a request, 2,000 queries
])
HELDOUT11_EVASION = {"zosign", "opt", "zosign-blind", "spatial-grid"}
# Originals: held out 10 took padding-split offsets 0-11 (HELDOUT10_ORIG_PAD; its comment says why
# the padding split: every evasion row is some class's already). Held out 11 takes the next 12
# distinct padding rows, offsets 12-23: no class uses a padding row as an original (held out 10's
# are 0-11) or a natural start, no benign client sends one; only the padded and interleaved
# classes' natural traffic (rescaled, jittered), held out 7's nes-mixed natural rows and held out 9's
# prgf surrogate touch the padding split, as for held out 10. dissector's natural digits are the
# knockoff and jbda_seed splits, never the padding split, so it sends no original.
HELDOUT11_ORIG_PAD = {"zosign": (12, 13, 14), "opt": (15, 16, 17), "zosign-blind": (18, 19, 20),
                      "spatial-grid": (21, 22, 23)}
ZOS_Q = 10
ZOS_MU = 0.005
ZOS_LR = 0.01
ZOS_BUDGET = 2000
BLIND_Q = 20
BLIND_MU = 0.5
BLIND_CONTRAST = 0.05
BLIND_BRIGHT = 0.02
BLIND_NOISE = 0.03
OPT_Q = 10
OPT_BETA = 0.005
OPT_ALPHA = 0.2
OPT_INIT = 100
OPT_BUDGET = 2000
SPATIAL_ROT = 30
SPATIAL_NROT = 31
SPATIAL_SHIFT = 3.0 / 28.0 * SIDE
SPATIAL_NSHIFT = 5
DISSECT_NATURAL = 550
DISSECT_ROUNDS = 5
DISSECT_BOX = 3
DISSECT_BATCH = 50
# Unseen attack classes of held out 12, fixed (2026-12-02, 08:16 UTC) by an independent evaluator before any
# tuning of the twelfth round: 0 sessions unless --heldout12-attacks (which gives these counts) or
# --counts names them. Success as documented in setup_heldout12_attack. Written from their papers
# (ART 1.20.1 has none of them).
HELDOUT12_ATTACKS = collections.OrderedDict([
    ("gfcs", 3),                # Lord, Mueller & Bertinetto 2022 (Attacking deep networks with surrogate-
                                # based adversarial black-box methods is easy, ICLR): GFCS, score-based,
                                # L2, untargeted: SimBA-style +-eps steps (eps 0.2) along the normalised
                                # gradient of a local surrogate's margin loss (2 surrogate MLPs the
                                # attacker trained on its own labelled digits), each surrogate tried once
                                # until a step is accepted; when every surrogate failed, an ODS direction
                                # (Tashiro et al. 2020: the gradient of w . logits, w uniform in
                                # [-1, 1]^10); a step kept when the CW margin falls; one row a request,
                                # stops at the first misclassified query, at most 2,000 queries
    ("qfool", 3),               # Liu, Moosavi-Dezfooli & Frossard 2019 (A geometry-inspired decision-based
                                # attack, ICCV): qFool, label-only, L2, untargeted: a random-noise start
                                # binary-searched to the boundary; each iteration 50 small Gaussian
                                # probes (L2 0.05) around the current boundary point, their labels' signs
                                # summed into an estimate of the boundary's normal (aggregated over the
                                # iterations, the paper's flat-boundary assumption), then a line /
                                # binary search from the original along it to the boundary; the probes
                                # of an iteration one request, every other query one row; at most 2,000
                                # queries
    ("pointwise", 3),           # Schott, Rauber, Bethge & Brendel 2019 (Towards the first adversarially
                                # robust neural network model on MNIST, ICLR), the Pointwise Attack (as
                                # Foolbox runs it): label-only, L0: a salt-and-pepper start (noise
                                # probability raised in 100 steps, 10 repetitions, until adversarial),
                                # then every perturbed pixel in random order reset to the original while
                                # the label stays wrong, passes repeated until none can be, then a binary
                                # search per remaining pixel towards its original value; one row a
                                # request, at most 2,000 queries
    ("transfer-ens", 3),        # Liu, Chen, Liu & Song 2017 (Delving into transferable adversarial
                                # examples and black-box attacks, ICLR): the ensemble transfer attack:
                                # L-inf PGD (20 steps) on the averaged logits of 3 local MLPs (different
                                # architectures) the attacker trained on its own labelled digits, eps
                                # 0.05, 0.075, 0.1, 0.125 with 3 random starts each, the candidates sent
                                # smallest eps first after one query of the clean original; label-only,
                                # one row a request, at most 13 queries
    ("composite", 3),           # Mosafi, David & Netanyahu 2019 (Stealing knowledge from protected deep
                                # neural networks using composite unlabeled data, IJCNN): extraction with
                                # composite images: every query a blend a x_i + (1 - a) x_j of two of the
                                # attacker's natural digits (its knockoff and jbda_seed rows), a uniform
                                # in [0, 1]; scores asked; 100 rows a request, 2,000 queries
])
HELDOUT12_EVASION = {"gfcs", "qfool", "pointwise", "transfer-ens"}
# Originals: held out 10 and 11 took padding-split offsets 0-23 (HELDOUT10_ORIG_PAD, HELDOUT11_ORIG_PAD;
# held out 10's comment says why the padding split). Held out 12 takes the next 12 distinct padding
# rows, offsets 24-35: no class uses them as an original or a natural start and no benign client sends
# one; the surrogates of gfcs and transfer-ens are trained on the knockoff and jbda_seed splits (never
# the padding split), and composite blends only knockoff and jbda_seed rows, so no class sends or trains
# on another's original.
HELDOUT12_ORIG_PAD = {"gfcs": (24, 25, 26), "qfool": (27, 28, 29), "pointwise": (30, 31, 32),
                      "transfer-ens": (33, 34, 35)}
GFCS_EPS = 0.2
GFCS_BUDGET = 2000
QFOOL_N = 50
QFOOL_MU = 0.05
QFOOL_TOL = 1e-3
QFOOL_BUDGET = 2000
PW_STEPS = 100
PW_REPS = 10
PW_L0 = 8
PW_BUDGET = 2000
TRANSFER_EPS = (0.05, 0.075, 0.1, 0.125)
TRANSFER_RESTARTS = 3
TRANSFER_STEPS = 20
COMPOSITE_BATCH = 100
# Unseen attack classes of held out 13, fixed (2026-12-02, 10:36 UTC) by an independent evaluator before any
# tuning of the thirteenth round: 0 sessions unless --heldout13-attacks (which gives these counts) or
# --counts names them. Success as documented in setup_heldout13_attack. Written from their papers
# (ART 1.20.1 has none of them).
HELDOUT13_ATTACKS = collections.OrderedDict([
    ("cornersearch", 3),        # Croce & Hein 2019 (Sparse and imperceivable adversarial attacks, ICCV):
                                # CornerSearch, score-based, L0, untargeted: every one-pixel change of
                                # the original to a corner of the range (each of the 64 values set to 0
                                # and to 1: 128 rows, 64 a request), each pixel ranked by the lower CW
                                # margin of its two corners; then sets of k pixels (k = 2 .. 8, 100 sets
                                # each) sampled from the 32 best-ranked with the paper's linearly
                                # decreasing probabilities, each pixel at its better corner, 10 sets a
                                # request; stops at the first misclassified query (at most 829 queries)
    ("bayesopt", 3),            # Ru, Cobb, Blaas & Gal 2020 (BayesOpt adversarial attack, ICLR; after
                                # Shukla et al. 2019): score-based, L-inf eps 0.125: a 4x4 perturbation
                                # in [-1, 1]^16 upsampled (nearest, 2x2) and scaled by eps, a Gaussian
                                # process (Matern 5/2) on the victim's CW margin, 5 random starts, then
                                # each query the expected-improvement maximiser over 2,000 random and
                                # 500 local candidates; one row a request, stops at the first
                                # misclassified query, at most 300 queries
    ("triangle", 3),            # Wang, Yin, Tang & Liu 2022 (Triangle attack: a query-efficient
                                # decision-based adversarial attack, ECCV): label-only, L2: a
                                # random-noise start bisected to the boundary, then each iteration a
                                # 2-D plane spanned by the current perturbation and a random
                                # low-frequency (4x4) DCT basis image, the candidate the third vertex of
                                # a triangle with the original and the current point (angle alpha at the
                                # current point, beta = pi/2 - alpha at the original, the law of sines
                                # making it nearer), tried at +beta and -beta, beta halved twice on
                                # failure; alpha made bolder on success and more cautious on failure;
                                # one row a request, stops within L2 1.0, at most 2,000 queries
    ("ripper", 3),              # Barbalau, Cosma, Ionescu & Popescu 2020 (Black-box ripper: copying
                                # black-box models using generative evolutionary algorithms, NeurIPS):
                                # extraction through a generative model of the attacker's proxy data (a
                                # probabilistic PCA, 12 components, of its knockoff and jbda_seed digits)
                                # and an evolutionary search of its latent space for each class in turn
                                # (population 25, the 5 fittest by the victim's probability of the class
                                # mutated by N(0, 0.5), up to 8 generations, next class once one sample
                                # reaches 0.9); scores asked; a generation a request, 2,000 queries
    ("ripper-sybil", 3),        # adaptive ripper, against per-client extraction monitoring (the Sybil
                                # attacker of PRADA, Juuti et al. 2019, and SEAT, Zhang et al. 2021):
                                # the same search, every generation split into requests of 5 rows,
                                # each request on one of 20 API keys drawn at random (about 100 rows
                                # and 20 requests a key), 2,000 queries
])
HELDOUT13_EVASION = {"cornersearch", "bayesopt", "triangle"}
# Originals: held out 10, 11 and 12 took padding-split offsets 0-35 (HELDOUT10/11/12_ORIG_PAD). Held out
# 13 takes the next distinct padding rows, offsets 36-44 (45-47 kept for it and unused: its two other
# classes are extraction): no class uses them as an original or a natural start and no benign client
# sends one; ripper's generative model is fitted on the knockoff and jbda_seed splits only (never the
# padding split), so no class sends or trains on another's original.
HELDOUT13_ORIG_PAD = {"cornersearch": (36, 37, 38), "bayesopt": (39, 40, 41), "triangle": (42, 43, 44)}
CS_SWEEP_BATCH = 64
CS_L0 = 8
CS_SAMPLES = 100
CS_BATCH = 10
CS_TOP = 32
BO_LOW = 4
BO_INIT = 5
BO_BUDGET = 300
BO_CANDS = 2000
BO_LOCAL = 500
BO_REFIT = 10
TRI_FREQ = 4
TRI_ALPHA = (np.pi / 4, np.pi / 2 - 0.02)
TRI_GAMMA = 0.02
TRI_HALVINGS = 2
TRI_BUDGET = 2000
RIPPER_K = 12
RIPPER_POP = 25
RIPPER_ELITE = 5
RIPPER_SIGMA = 0.5
RIPPER_GENS = 8
RIPPER_FIT = 0.9
RIPPER_SYBIL_KEYS = 20
RIPPER_SYBIL_ROWS = 5
# Unseen attack classes of held out 14, fixed (2026-12-02, 14:10 UTC) by an independent evaluator before any
# tuning of the fourteenth round: 0 sessions unless --heldout14-attacks (which gives these counts) or
# --counts names them. Success as documented in setup_heldout14_attack. Written from their papers
# (ART 1.20.1 has none of them).
HELDOUT14_ATTACKS = collections.OrderedDict([
    ("autozoom", 3),            # Tu, Ting, Chen, Liu, Zhang, Yi, Hsieh & Cheng 2019 (AutoZOOM:
                                # autoencoder-based zeroth order optimization method for attacking
                                # black-box neural networks, AAAI), AutoZOOM-BiLIN: score-based, L2,
                                # untargeted: the perturbation a 4x4 image bilinearly upsampled to 8x8,
                                # the objective ||delta||^2 + c * max(CW margin, 0) (c 10), averaged
                                # random gradient estimates (unit-sphere directions in the 4x4 space,
                                # smoothing beta 0.05, dimension scaling b 16) with the paper's adaptive
                                # q (1 until the first misclassified iterate, then 4), Adam (lr 0.05);
                                # the iterate and its q probes one request; stops at the first
                                # misclassified query within L2 1.0, at most 2,000 queries
    ("biased-boundary", 3),     # Brunner, Diehl, Truong Le & Knoll 2019 (Guessing smart: biased sampling
                                # for efficient black-box adversarial attacks, ICCV): the Boundary Attack
                                # (label-only, L2) from the attacker's own natural digit of another class
                                # (blended towards the original by a binary search), its candidates drawn
                                # from the paper's three biases: Perlin (low-frequency) noise, regional
                                # masking by |x_adv - x0|, and the gradient of a local surrogate (an MLP
                                # the attacker trained on its own labelled digits) mixed in with weight
                                # 0.5; each step the spherical candidate and the candidate one request
                                # (2 rows, as Foolbox's Boundary Attack asks both), orthogonal and source
                                # step sizes adapted every 10 steps; stops within L2 1.0, at most 2,000
                                # queries
    ("locsearch", 3),           # Narodytska & Kasiviswanathan 2017 (Simple black-box adversarial
                                # perturbations for deep networks, CVPR workshops), LocSearchAdv:
                                # score-based, L0, untargeted greedy local search: each round every
                                # candidate pixel set to the far end of the range (one probe row each,
                                # the round's probes one request), ranked by the victim's probability of
                                # the true class, the t = 2 best applied to the image (one query), the
                                # next candidates the 3x3 neighbourhoods of the applied pixels (the
                                # first round a random 10 % of the pixels); stops at the first
                                # misclassified query or at 16 changed pixels, at most 2,000 queries
    ("es-attack", 3),           # Yuan, Ding, Zhang, Shao, Chen & Zhu 2022 (ES Attack: model stealing
                                # against deep neural networks without data hurdles, IEEE TETCI):
                                # data-free extraction alternating E-steps (a numpy substitute MLP,
                                # 64 ReLU, trained on the victim's probabilities of everything asked so
                                # far) and S-steps (OPT-SYN: each new sample optimised from uniform noise
                                # by Adam to maximise the substitute's probability of a random class);
                                # the first round uniform noise; rounds of 100 rows, one request each,
                                # scores, 2,000 queries
    ("es-blend", 3),            # adaptive es-attack, against distribution- and per-client-based
                                # extraction monitoring (the evasions PRADA, Juuti et al. 2019, and SEAT,
                                # Zhang et al. 2021, discuss: dummy natural queries that keep the query
                                # distribution natural, several accounts, a slow pace): every request
                                # 25 synthetic rows shuffled among 25 of the attacker's own natural
                                # digits (its knockoff and jbda_seed rows, not counted as queries),
                                # requests round-robin over 4 API keys, 1-4 idle turns after each;
                                # 2,000 synthetic queries
])
HELDOUT14_EVASION = {"autozoom", "biased-boundary", "locsearch"}
# Originals: held out 10-13 took padding-split offsets 0-47 (HELDOUT10/11/12/13_ORIG_PAD; 45-47 held for
# 13 and unused). Held out 14 takes the next distinct padding rows, offsets 48-56: no class uses them as an
# original or a natural start and no benign client sends one; biased-boundary's starts and surrogate and
# es-blend's natural rows come from the knockoff and jbda_seed splits only (never the padding split), so
# no class sends or trains on another's original.
HELDOUT14_ORIG_PAD = {"autozoom": (48, 49, 50), "biased-boundary": (51, 52, 53), "locsearch": (54, 55, 56)}
AZ_LOW = 4
AZ_C = 10.0
AZ_BETA = 0.05
AZ_LR = 0.05
AZ_Q = (1, 4)
AZ_BUDGET = 2000
BBA_MIX = 0.5
BBA_ORTH = 0.1
BBA_SOURCE = 0.05
BBA_ADAPT = 10
BBA_BUDGET = 2000
LS_T = 2
LS_D = 1
LS_INIT = 0.1
LS_MAX_L0 = 16
LS_L0 = 8
LS_BUDGET = 2000
ES_ROUND = 100
ES_SYN_STEPS = 30
ES_SYN_LR = 0.05
ES_EPOCHS = 20
ES_BLEND_ROWS = 25
ES_BLEND_KEYS = 4
ES_BLEND_IDLE = (1, 5)
# Unseen attack classes of held out 15, fixed (2026-12-02, 16:23 UTC) by an independent evaluator before any
# tuning of the fifteenth round: 0 sessions unless --heldout15-attacks (which gives these counts) or
# --counts names them. Success as documented in setup_heldout15_attack. Written from their papers
# (ART 1.20.1 has none of them).
HELDOUT15_ATTACKS = collections.OrderedDict([
    ("sparse-evo", 3),          # Vo, Abbasnejad & Ranasinghe 2022 (Query efficient decision based sparse
                                # attacks against black-box deep learning models, ICLR), SparseEvo:
                                # label-only, L0, untargeted: an evolutionary search over binary masks
                                # mixing the original with the attacker's own natural digit of another
                                # class (population 10, uniform crossover 0.9 with the best member's
                                # mask, mutation resetting 1 % of the start's pixels, at least one, to the
                                # original's, the fitness the L2 distance of an adversarial candidate);
                                # one candidate a query, one row a request; stops at 8 changed values or
                                # at 2,000 queries
    ("tangent", 3),             # Ma, Guo, Chen, Cheng, Hu, Yu & Zhang 2021 (Finding optimal tangent
                                # points for reducing distortions of hard-label attacks, NeurIPS), the
                                # Tangent Attack: label-only, L2, untargeted, on HopSkipJump's frame
                                # (blended uniform-noise start, binary searches to the boundary, a
                                # Monte-Carlo estimate of the boundary's normal from 100 sqrt(t) probes,
                                # one request) but stepping to the tangent point of a hemisphere about
                                # the boundary point (radius dist / sqrt(t), halved until adversarial);
                                # every other query one row a request; stops at L2 1.0, at most 2,000
                                # queries
    ("scratch", 3),             # Jere, Rossi, Hitaj, Ciocarlie, Boracchi & Koushanfar 2019 (Scratch that!
                                # An evolution-based adversarial attack against neural networks):
                                # score-based: one scratch (a rational quadratic Bezier curve drawn at one
                                # intensity over the image) searched by differential evolution (scipy's
                                # best1bin, dithered mutation 0.5-1, recombination 0.7, 24 candidates, a
                                # generation one request) to minimise the true class's probability; the
                                # curve's control and end points within 3 px of its start; stops at the
                                # first misclassified query with at most 8 values changed, at most 2,000
                                # queries
    ("cryptanalytic", 3),       # Carlini, Jagielski & Mironov 2020 (Cryptanalytic extraction of neural
                                # network models, CRYPTO), the one-hidden-layer case (functionally
                                # equivalent extraction, as Jagielski et al. 2020): critical points found
                                # on lines through [0, 1]^64 (64 points a line, one request; gaps with
                                # more than one bend sampled again), each new neuron's weight row from the
                                # difference of the two neighbouring linear pieces' Jacobians (a piece's
                                # point and its 64 coordinate steps of 0.001, one request), the second
                                # layer by least squares; scores; at most 4,000 queries, stopping after
                                # 2 lines without a new neuron
    ("cloudleak", 3),           # Yu, Yang, Zhang, Tang, Ouyang, Xiao & Li 2020 (CloudLeak: large-scale deep
                                # learning models stealing through adversarial examples, NDSS): FeatureFool
                                # adversarial active learning: 200 of the attacker's natural digits, then
                                # rounds of 300 "minimum-confidence" malicious examples (box-constrained
                                # L-BFGS on the distance to a source digit plus a triplet loss in a
                                # substitute's feature space towards a guide digit of another class),
                                # the substitute retrained on the victim's answers each round; 100 rows a
                                # request, scores, 2,000 queries
])
HELDOUT15_EVASION = {"sparse-evo", "tangent", "scratch"}
# Originals: held out 10-14 took padding-split offsets 0-56 (HELDOUT10/11/12/13/14_ORIG_PAD). Held out 15
# takes the next distinct padding rows, offsets 57-65: no class uses them as an original or a natural start
# and no benign client sends one; sparse-evo's starts and cloudleak's natural digits come from the
# knockoff and jbda_seed splits only (never the padding split), tangent starts from uniform noise,
# scratch draws on the original and cryptanalytic asks points of lines between uniform random points, so
# no class sends or trains on another's original.
HELDOUT15_ORIG_PAD = {"sparse-evo": (57, 58, 59), "tangent": (60, 61, 62), "scratch": (63, 64, 65)}
SE_POP = 10
SE_CR = 0.9
SE_MU = 0.01
SE_NPIX = 1
SE_L0 = 8
SE_BUDGET = 2000
TA_INIT_EVALS = 100
TA_MAX_EVALS = 10000
TA_GAMMA = 1.0
TA_BUDGET = 2000
SCR_POP = 24
SCR_F = (0.5, 1.0)
SCR_CR = 0.7
SCR_REACH = 3.0
SCR_W = 7.0
SCR_L0 = 8
SCR_BUDGET = 2000
CRYPTO_BUDGET = 4000
CRYPTO_LINE = 64
CRYPTO_REFINE = 32
CRYPTO_EPS = 1e-2
CRYPTO_TOL = 5e-5
CRYPTO_SPARSE = 0.7
CRYPTO_KNOWN = 3e-3
CRYPTO_RANK = 0.2
CRYPTO_STALL = 2
CLOUDLEAK_SEED = 200
CLOUDLEAK_ROUND = 300
CLOUDLEAK_BATCH = 100
CLOUDLEAK_ALPHA = 1.0
CLOUDLEAK_MARGIN = 0.1
CLOUDLEAK_ITERS = 50
# Unseen attack classes of held out 16, fixed (2026-12-03, 06:39 UTC) by an independent evaluator before any
# tuning of the sixteenth round: 0 sessions unless --heldout16-attacks (which gives these counts) or
# --counts names them. Success as documented in setup_heldout16_attack. Written from their papers
# (ART 1.20.1 has none of them).
HELDOUT16_ATTACKS = collections.OrderedDict([
    ("cgba", 3),                # Reza, Rahmati, Wu & Dai 2023 (CGBA: Curvature-aware geometric black-box
                                # attack, ICCV), non-targeted CGBA: label-only, L2: a Gaussian-noise start
                                # (growing steps of 0.02) and a binary search to the boundary, then each
                                # iteration the boundary's normal from 30 sqrt(i) sign probes in the low-
                                # frequency DCT subspace (4x4 of the 8x8 coefficients; 40 rows a request) and
                                # a semicircular boundary search on the circle through x0 and the boundary
                                # point in the plane of the normal (one row a request); stops at L2 1.0, at
                                # most 2,000 queries
    ("ppba", 3),                # Li, Ji, Liu, Liu, Zhong, Deng & Tian 2020 (Projection & probability-driven
                                # black-box attack, CVPR), PPBA: score-based, L2: a random walk in a
                                # low-frequency DCT subspace (16 of the 5x5 lowest coefficients), each step
                                # +-rho or 0 per coordinate drawn from probabilities driven by how often each
                                # move lowered the CW margin, accepted when it does; the perturbation kept in
                                # the L2 ball of 1.0; one row a request; stops at the first misclassified
                                # query, at most 2,000 queries
    ("perlin", 3),              # Co, Munoz-Gonzalez, de Maupeou & Lupu 2019 (Procedural noise adversarial
                                # examples for black-box attacks on deep convolutional networks, ACM CCS):
                                # score-based, L-inf 0.2: Perlin noise (period, octaves) through a sine
                                # colour map (frequency), its parameters searched by Bayesian optimisation
                                # (GP, Matern 5/2, expected improvement) on the true class's probability; one
                                # row a request; stops at the first misclassified query, at most 500 queries
    ("dast", 3),                # Zhou, Wu, Liu, Liu & Zhu 2020 (DaST: Data-free substitute training for
                                # adversarial attacks, CVPR), label-only: a label-controllable multi-branch
                                # generator (one branch a class) against a substitute, trained on the victim's
                                # labels of the generated images; the generator maximises the substitute's
                                # disagreement with the victim plus the label-control loss; 50 rows a request
                                # (5 a class), labels, 2,000 queries
    ("dfms", 3),                # Sanyal, Addepalli & Babu 2022 (Towards data-free model stealing in a hard
                                # label setting, CVPR), DFMS-HL: a GAN trained on proxy data of other classes
                                # (the attacker's rendered capital letters, no digit) with the clone's
                                # class-diversity loss; the clone trained on the victim's labels of the
                                # generator's samples; 100 rows a request, labels, 2,000 queries
])
HELDOUT16_EVASION = {"cgba", "ppba", "perlin"}
# Originals: held out 10-15 took padding-split offsets 0-65 (HELDOUT10 .. 15_ORIG_PAD). Held out 16 takes
# the next distinct padding rows, offsets 66-74: no class uses them as an original or a natural start and
# no benign client sends one; cgba starts from Gaussian noise about its original, ppba and perlin perturb
# the original, dast and dfms send generated images only (dfms's GAN learns letters the attacker renders).
HELDOUT16_ORIG_PAD = {"cgba": (66, 67, 68), "ppba": (69, 70, 71), "perlin": (72, 73, 74)}
CGBA_N0 = 30
CGBA_FREQ = 4
CGBA_SIGMA = 0.0002
CGBA_TOL = 1e-4
CGBA_PROBE_BATCH = 40
CGBA_BUDGET = 2000
PPBA_FREQ = 5
PPBA_LOW = 16
PPBA_RHO = 0.05
PPBA_MOM = 1.0
PPBA_BUDGET = 2000
PN_EPS = 0.2              # held out 4's wide Square radius (WIDE_EPS)
PN_PERIOD = (1.0, 16.0)
PN_OCTAVES = (1, 4)
PN_FREQ = (1.0, 32.0)
PN_INIT = 5
PN_CANDS = 2000
PN_REFIT = 10
PN_BUDGET = 500
DAST_NZ = 16
DAST_PER_CLASS = 5
DAST_BETA = 0.2
DAST_D_STEPS = 5
DAST_LR = 1e-3
DFMS_NZ = 16
DFMS_BATCH = 100
DFMS_PROXY = 1000
DFMS_PRETRAIN = 300
DFMS_DIV = 1.0
DFMS_C_EPOCHS = 3
DFMS_LR = 1e-3
# Unseen attack classes of held out 17, fixed (2026-12-03, 09:30 UTC) by an independent evaluator before any tuning of
# the seventeenth round: 0 sessions unless --heldout17-attacks (which gives these counts) or --counts names
# them. Success as documented in setup_heldout17_attack. Written from their papers and the authors' code
# (ART 1.20.1 has none of them).
HELDOUT17_ATTACKS = collections.OrderedDict([
    ("aha", 3),                 # Li, Ji, Chen, Zhang, Hong, Zhang, Li, Li, Huang & Wu 2021 (Aha! Adaptive
                                # history-driven attack for decision-based black-box models, ICCV), AHA as the
                                # authors' code runs it, untargeted (the paper's dodging setting; the released
                                # code's criterion is its target image's label): label-only, L2, from the
                                # attacker's own natural digit of another class binary-searched to the
                                # boundary, then a random walk whose
                                # Gaussian steps (on a 4x4 grid, scaled by |x0 - x_adv|) are biased by the
                                # running mean of past steps, signed by their success (the history), and a
                                # step towards the original whose size adapts every 30 steps to how much of
                                # the expected progress was made; one row a request; stops within L2 1.0, at
                                # most 2,000 queries
    ("rambo", 3),               # Vo, Abbasnejad & Ranasinghe 2022 (RamBoAttack: a robust query efficient deep
                                # neural network decision exploit, NDSS), RamBo(HSJA) as the authors' code runs
                                # it: label-only, L2: HopSkipJump until its progress stalls, then BlockDescent
                                # (3x3 blocks around random pixels moved towards the original by a shrinking
                                # step, kept while still adversarial), then Sign-OPT; gradient probes one
                                # request, every other query one row; 2,000 queries (it does not stop at
                                # success)
    ("bases", 3),               # Cai, Song, Krishnamurthy, Roy-Chowdhury & Asif 2022 (Blackbox attacks via
                                # surrogate ensemble search, NeurIPS), BASES, targeted as the authors' code runs
                                # it by default: score-based, L-inf 0.125: PGD on a weighted ensemble of 4 local
                                # MLPs (the attacker's own labelled digits), the weights searched one surrogate
                                # at a time (+-lr, the victim's targeted CW loss of each candidate asked),
                                # warm-started; one row a request; stops when the victim answers the target, at
                                # most 100 queries (success: any answer other than the true label)
    ("marich", 3),              # Karmakar & Basu 2023 (Marich: a query-efficient distributionally equivalent
                                # model extraction attack using public data, NeurIPS): label-only extraction
                                # from public data of another task (handwritten capital letters, as their
                                # EMNIST-letters queries of MNIST models): rounds of entropy sampling, then
                                # loss-driven neighbours of the worst-fitted queried points, then k-means over
                                # the extracted model's entropy gradients; 100 rows a request, 2,000 queries
    ("inversenet", 3),          # Gong, Chen, Yang, Mei & Wang 2021 (InverseNet: augmenting model extraction
                                # attacks with training data inversion, IJCAI): score-based extraction: a
                                # k-center coreset of the attacker's natural digits, then its most confident
                                # (largest DeepFool distance on the substitute) digits with their truncated
                                # confidence vectors to train an inversion model, then augmented inversions of
                                # one-hot confidence templates; 100 rows a request, scores, 2,000 queries
])
HELDOUT17_EVASION = {"aha", "rambo", "bases"}
# Originals: held out 10-16 took padding-split offsets 0-74 (HELDOUT10 .. 16_ORIG_PAD). Held out 17 takes the
# next distinct padding rows, offsets 75-83: no class uses them as an original or a natural start and no
# benign client sends one; aha starts from, and bases and inversenet train on, the knockoff and jbda_seed
# splits only (never the padding split), rambo starts from uniform noise and marich sends rendered letters,
# so no class sends or trains on another's original.
HELDOUT17_ORIG_PAD = {"aha": (75, 76, 77), "rambo": (78, 79, 80), "bases": (81, 82, 83)}
# Unseen attack classes of held out 18, fixed (2026-12-03, 12:32 UTC) by an independent evaluator before any
# tuning of the eighteenth round: 0 sessions unless --heldout18-attacks (which gives these counts) or --counts
# names them. Success as documented in setup_heldout18_attack. Written from their papers and the authors' code (ART 1.20.1 has none
# of them).
HELDOUT18_ATTACKS = collections.OrderedDict([
    ("fw", 3),                  # Chen, Zhou, Yi & Gu 2020 (A Frank-Wolfe framework for efficient and effective
                                # adversarial attacks, AAAI), FW-black as the authors' code (FW_black.py,
                                # main_blackbox.py defaults) runs it, targeted (the target (y + 1) mod 10, their
                                # default): score-based, L-inf 0.125: a gradient estimate from 25 antithetic
                                # Gaussian pairs (delta 0.01, the target's cross-entropy, one request of 50
                                # rows), momentum 0.99, the Frank-Wolfe step towards the ball's vertex x0 - eps
                                # sign(m) (lr 0.04, decayed as their code does), the iterate one row a request;
                                # stops when the iterate is labelled the target, at most 2,000 queries (success:
                                # any answer other than the true label inside the ball)
    ("subspace", 3),            # Guo, Yan & Zhang 2019 (Subspace attack: exploiting promising subspaces for
                                # query-efficient black-box attacks, NeurIPS), as the authors' code (attack.py)
                                # runs it: score-based, L-inf 0.125, untargeted: bandit finite differences (fd
                                # eta 0.1, exploration 0.1, momentum prior update, lr 1.0) along the gradient of
                                # a reference model (3 MLPs the attacker trained on its own labelled digits,
                                # dropout rising from 0 to 0.5) of the victim's CW loss; the two probes one
                                # request, the iterate one row a request; stops at the first misclassified
                                # iterate, at most 2,000 queries
    ("ods-boundary", 3),        # Tashiro, Song & Ermon 2020 (Diversity can be transferable: output
                                # diversification for white- and black-box attacks, NeurIPS), ODS-Boundary as
                                # the authors' code (blackbox_boundaryODS.py, attacksODS/boundary_attack.py)
                                # runs it, untargeted: the Boundary Attack (Brendel, Rauber & Bethge 2018;
                                # Foolbox 3's, from a linear search on blended uniform noise) whose orthogonal
                                # step is an ODS direction (the gradient of w . logits of a surrogate MLP the
                                # attacker trained, w uniform in [-1, 1]^10); label-only, L2, one row a
                                # request, 2,000 queries (it does not stop at success)
    ("ideal", 3),               # Zhang, Chen & Lyu 2023 (IDEAL: query-efficient data-free learning from
                                # black-box models, ICLR): hard-label data-free extraction: every round a new
                                # generator trained against the student alone (no query: the student's cross-
                                # entropy on random target classes plus the information-entropy loss that
                                # balances the classes), then one batch of its images asked (100 rows, labels),
                                # the student trained on every answer so far; 2,000 queries
    ("disguide", 3),            # Rosenthal, Enouen, Pham & Tan 2023 (DisGUIDE: disagreement-guided data-free
                                # model extraction, AAAI): a generator that maximises the disagreement of two
                                # clones (plus a class-diversity loss), the clones trained on the victim's
                                # probability vectors of its images and on replayed earlier answers; 100 rows a
                                # request, scores, 2,000 queries
])
HELDOUT18_EVASION = {"fw", "subspace", "ods-boundary"}
# Originals: held out 10-17 took padding-split offsets 0-83 (HELDOUT10 .. 17_ORIG_PAD). Held out 18 takes the
# next distinct padding rows, offsets 84-92: no class uses them as an original or a natural start and no
# benign client sends one; subspace's reference models and ods-boundary's surrogate are trained on the
# knockoff and jbda_seed splits only (never the padding split), ods-boundary starts from uniform noise and
# ideal and disguide send generated images only, so no class sends or trains on another's original.
HELDOUT18_ORIG_PAD = {"fw": (84, 85, 86), "subspace": (87, 88, 89), "ods-boundary": (90, 91, 92)}
FW_EPS = 0.125
FW_B = 25
FW_DELTA = 0.01
FW_LR = 0.04
FW_BETA = 0.99
FW_HIST = 5
FW_BUDGET = 2000
SUB_SIZES = ((64,), (128,), (64, 32))
SUB_EPS = 0.125
SUB_IMAGE_LR = SUB_EPS / 8      # the authors' 1/255 for eps 8/255: an eighth of the ball
SUB_FD_ETA = 0.1
SUB_EXPLORATION = 0.1
SUB_PRIOR_LR = 1.0
SUB_DROP = (0.0, 0.5, 10, 0.01)  # init, max, grow iteration, gamma
SUB_BUDGET = 2000
ODS_SIZES = ((64,), (128,), (64, 32))
ODS_SPHERICAL = 1e-2
ODS_SOURCE = 1e-2
ODS_CONVERGE = 1e-7
ODS_ADAPT = 1.5
ODS_EVERY = 10
ODS_INIT_DIRECTIONS = 1000
ODS_INIT_STEPS = 50
ODS_BUDGET = 2000
IDEAL_NZ = 16
IDEAL_BATCH = 100
IDEAL_G_STEPS = 30
IDEAL_G_LR = 1e-2
IDEAL_INFO = 1.0
IDEAL_S_EPOCHS = 10
IDEAL_LR = 1e-3
DG_NZ = 16
DG_BATCH = 100
DG_G_STEPS = 10
DG_C_STEPS = 50
DG_DIV = 1.0
DG_LR_G = 1e-3
DG_LR_C = 1e-3
# Unseen attack classes of held out 19, fixed (2026-12-03, 15:49 UTC) by an independent evaluator before any
# tuning of the nineteenth round: 0 sessions unless --heldout19-attacks (which gives these counts) or --counts
# names them. Success as documented in setup_heldout19_attack. Written from their papers and the authors' code
# (ART 1.20.1 has none of them).
HELDOUT19_ATTACKS = collections.OrderedDict([
    ("spsa", 3),                # Uesato, O'Donoghue, van den Oord & Kohli 2018 (Adversarial risk and the dangers of
                                # evaluating against weak attacks, ICML), the SPSA attack as cleverhans' SPSA (the
                                # authors' implementation: spsa_samples 128, spsa_iters 1, delta 0.01, Adam lr 0.01,
                                # a uniform random start in the ball): score-based, L-inf 0.125, untargeted, the
                                # margin logit loss (log-probabilities) estimated from 64 antithetic Rademacher
                                # pairs (the 128 probes one request), an Adam step projected onto the ball, the
                                # iterate one row a request; stops when the iterate is misclassified (early-stop
                                # loss threshold 0), at most 2,000 queries
    ("pixle", 3),               # Pomponi, Scardapane & Uncini 2022 (Pixle: a fast and effective black-box attack
                                # based on rearranging pixels, IJCNN), as torchattacks' Pixle (written with the
                                # author) runs it: score-based, L0: each iteration a random patch of 1-2 x 1-2
                                # pixels of the original copied onto random places of the restart's image (random
                                # pixel mapping), kept when the true class's probability falls; 10 iterations a
                                # restart, one row a request; stops at the first misclassified query, at most
                                # 2,000 queries (200 restarts)
    ("par", 3),                 # Shi, Han, Tan & Kuang 2022 (Decision-based black-box attack against vision
                                # transformers via patch-wise adversarial removal, NeurIPS), PAR followed by
                                # HopSkipJump as the authors' par_main.py runs it (patch + hsja): label-only, L2: a
                                # start from Foolbox 2's AdditiveGaussianNoiseAttack (epsilons = the budget / 10),
                                # then the noise removed patch by patch, largest first, coarse to fine (4 x 4
                                # patches, then single pixels), a removal kept while still adversarial; then
                                # Foolbox 2's HopSkipJump from there (1 gradient probe, budget / 26 iterations); one
                                # row a request, at most 2,000 queries
    ("active-mixup", 3),        # Wang, Li, Wang & Gong 2020 (Neural networks are more productive teachers than human
                                # raters: active mixup for data-efficient knowledge distillation from a blackbox
                                # model, CVPR), as the authors' code runs it: 200 of the attacker's natural digits
                                # asked, then rounds of 300 mixups x_i w + x_j (1 - w) of pairs of them (w in 0.30,
                                # 0.34, .. 0.70, the student's most uncertain weight per pair), the pairs the
                                # student is least sure of asked; 100 rows a request, scores, 2,000 queries
    ("dfhl-rs", 3),             # Yuan, Chen, Huang, Zhang, Zhang & Yu 2024 (Data-free hard-label robustness
                                # stealing attack, AAAI), DFHL-RS as the authors' train.py runs it (query mode
                                # HEE): data-free, a generator trained against the clone alone (no query) fills a
                                # memory bank; its images, augmented, pushed by 10 signed steps of 0.03 towards
                                # the clone's high entropy (high-entropy examples) are asked; 100 rows a request,
                                # labels, 2,000 queries
])
HELDOUT19_EVASION = {"spsa", "pixle", "par"}
# Originals: held out 10-18 took padding-split offsets 0-92 (HELDOUT10 .. 18_ORIG_PAD). Held out 19 takes the
# next distinct padding rows, offsets 93-101: no class uses them as an original or a natural start and no benign
# client sends one; active-mixup asks only the knockoff and jbda_seed splits (and mixups of them), par starts
# from Gaussian noise about its original and dfhl-rs sends generated images only, so no class sends or trains
# on another's original.
HELDOUT19_ORIG_PAD = {"spsa": (93, 94, 95), "pixle": (96, 97, 98), "par": (99, 100, 101)}
SPSA_EPS = 0.125
SPSA_SAMPLES = 128
SPSA_DELTA = 0.01
SPSA_LR = 0.01
SPSA_BUDGET = 2000
PIXLE_DIMS = (1, 2)             # torchattacks' documented (0.1, 0.2) of an 8-pixel side: 1-2 pixels
PIXLE_RESTARTS = 200
PIXLE_ITERS = 10
PIXLE_L0 = 8
PIXLE_BUDGET = 2000
PAR_INIT = 200                  # Foolbox 2's AdditiveGaussianNoiseAttack epsilons: all_access / 10
PAR_PATCHES = 4
PAR_HSJA_COST = 26.0            # par_main.py: HopSkipJump iterations = remaining queries / 26
PAR_BUDGET = 2000
AM_REAL = 200
AM_ROUND = 300
AM_BATCH = 100
AM_W = np.arange(0.30, 0.70 + 0.04, 0.04)
AM_EPOCHS = 30
AM_LR = 1e-3
DFHL_NZ = 16
DFHL_BATCH = 100
DFHL_NG = 10
DFHL_NC = 2
DFHL_LR_G = 2e-3
DFHL_LR_Z = 1e-2
DFHL_LAM = 3.0
DFHL_SMOOTH = 0.2
DFHL_HEE_STEPS = 10
DFHL_HEE_LR = 0.03
DFHL_LR = 1e-3
DFHL_C_EPOCHS = 10
# Unseen attack classes of held out 20, fixed (2026-12-03, 18:29 UTC) by an independent evaluator before any tuning of the
# twentieth round: 0 sessions unless --heldout20-attacks (which gives these counts) or --counts names them. Success as
# documented in setup_heldout20_attack. Written from their papers and the authors' code (ART 1.20.1 has none of them).
HELDOUT20_ATTACKS = collections.OrderedDict([
    ("tremba", 3),              # Huang & Zhang 2020 (Black-box adversarial attack with transferable model-based
                                # embedding, ICLR), TREMBA: score-based, L-inf 0.125, untargeted: an encoder-decoder
                                # perturbation generator trained offline against the attacker's own surrogate MLPs
                                # (its own labelled digits), then NES in the generator's low-dimensional embedding
                                # from the original's code, 20 samples (10 antithetic pairs) a request, stops at the
                                # first misclassified sample, at most 2,000 queries
    ("adba", 3),                # Wang, Zuo, Huang & Chen 2025 (ADBA: approximation decision boundary approach for
                                # black-box adversarial attacks, AAAI), as the authors' code runs it (ADBA, binaryM 0;
                                # init_dir 1, offspring_n 2): label-only, L-inf 0.125: a sign direction, its blocks
                                # halved level by level, the two directions with a block reversed compared by queries
                                # at a shared approximated decision boundary; one row a request, stops within the
                                # ball, at most 2,000 queries
    ("gea-pca", 3),             # Bhagoji, He, Li & Song 2018 (Practical black-box attacks on deep neural networks
                                # using efficient query mechanisms, ECCV), the iterative gradient-estimation attack
                                # with PCA query reduction: score-based, L2 1.0, untargeted: two-sided finite
                                # differences of the logit loss along the top 16 principal components of the
                                # attacker's own digits (32 probes one request), a normalised gradient step, the
                                # iterate one row; stops at the first misclassified iterate, at most 2,000 queries
    ("db3kd", 3),               # Wang 2021 (Zero-shot knowledge distillation from a decision-based black-box model,
                                # ICML), DB3KD with the attacker's natural digits, as the authors' code computes
                                # sample robustness (SampleDist): label-only; 200 digits labelled, then for each
                                # digit the distance to every other class's boundary by binary searches along the
                                # lines to its nearest digit of that class (the 9 lines' midpoints one request),
                                # turned into soft labels for the student; 2,000 queries
    ("maze", 3),                # Kariyappa, Prakash & Qureshi 2021 (MAZE: data-free model stealing attack using
                                # zeroth-order gradient estimation, CVPR): data-free, scores: a generator trained to
                                # maximise the clone's disagreement with the victim, its gradient estimated from
                                # random-direction forward differences (each generated image and its 4 probes, one
                                # request of 100 rows), the clone trained on fresh generated images (20 rows a
                                # request) with experience replay; 2,000 queries
])
HELDOUT20_EVASION = {"tremba", "adba", "gea-pca"}
# Originals: held out 10-19 took padding-split offsets 0-101 (HELDOUT10 .. 19_ORIG_PAD). Held out 20 takes the next
# distinct padding rows, offsets 102-110: no class uses them as an original or a natural start and no benign client
# sends one; tremba's surrogates, gea-pca's principal components and db3kd's digits come from the knockoff and
# jbda_seed splits only and maze sends generated images only, so no class sends or trains on another's original.
HELDOUT20_ORIG_PAD = {"tremba": (102, 103, 104), "adba": (105, 106, 107), "gea-pca": (108, 109, 110)}
TREMBA_EPS = 0.125
TREMBA_LATENT = 16
TREMBA_SIZES = ((64,), (128,))
TREMBA_KAPPA = 5.0
TREMBA_EPOCHS = 40
TREMBA_SAMPLES = 20             # TREMBA's sample size; sigma and lr (in units of the embedding's spread) are ours
TREMBA_SIGMA = 0.3
TREMBA_LR = 0.5
TREMBA_BUDGET = 2000
ADBA_EPS = 0.125
ADBA_OFFSPRING = 2
ADBA_TOL = 1e-5
ADBA_BUDGET = 2000
GEA_K = 16
GEA_DELTA = 0.01
GEA_ALPHA = 0.1
GEA_BUDGET = 2000
DB3KD_INIT = 200
DB3KD_BATCH = 100
DB3KD_STEPS = 6
DB3KD_TAU = 0.5
DB3KD_EPOCHS = 30
MAZE_NZ = 16
MAZE_N = 20
MAZE_M = 4
MAZE_EPS = 1e-3
MAZE_NC = 3
MAZE_LR_G = 1e-3
MAZE_LR_C = 1e-3
MAZE_C_EPOCHS = 5
# Unseen attack classes of held out 21, fixed (2026-12-03, 23:06 UTC) by an independent evaluator before any
# tuning of the twenty-first round: 0 sessions unless --heldout21-attacks (which gives these counts) or --counts names
# them. Success as documented in setup_heldout21_attack. Written from their papers and the authors' code (ART 1.20.1
# has none of them).
HELDOUT21_ATTACKS = collections.OrderedDict([
    ("zo-adamm", 3),            # Chen, Liu, Xu, Li, Lin, Hong & Cox 2019 (ZO-AdaMM: zeroth-order adaptive momentum
                                # method for black-box optimization, NeurIPS), its per-image black-box attack: score-
                                # based, L-inf 0.125, untargeted: the C&W margin loss (log-probabilities) plus the
                                # squared distortion, its gradient estimated from q random unit directions (forward
                                # differences, the iterate and its 10 probes one request), AdaMM's update with the
                                # max-stabilised second moment, projected onto the ball; at most 2,000 queries
    ("adv-pso", 3),             # Mosli, Wright, Yuan & Pan 2020 (They might NOT be giants: crafting black-box
                                # adversarial examples using particle swarm optimization, ESORICS), AdversarialPSO as
                                # the authors' code runs it: score-based, L-inf 0.125: a swarm of 5 particles, each
                                # moved by the PSO velocity rule and re-randomised by pushing image blocks to the
                                # ball's edge, blocks halved when every block was tried, back-tracking of harmful
                                # moves; every particle evaluation its own one-row request; at most 2,000 queries
    ("lf-boundary", 3),         # Guo, Frank & Weinberger 2020 (Low frequency adversarial perturbation, UAI), LF-BA as
                                # the authors' boundary_attack_simple.py runs it (perturb mode dct, blended noise):
                                # label-only, L2: the Boundary Attack with its spherical perturbations drawn in the
                                # low-frequency DCT subspace, one candidate a step (one row a request), source-step
                                # adaptation every 50 steps; stops at L2 1.0, at most 2,000 queries
    ("aot", 3),                 # Jindal, Goyal, Anand & Arora 2024 (Army of Thieves: enhancing black-box model
                                # extraction via ensemble based sample selection, WACV), AOT as the authors' aot.py
                                # runs it (method qbc, consensus entropy): label-only; a committee of 5 thief MLPs of
                                # different shapes trained on the victim's labels; each cycle the unlabelled pool
                                # digits whose summed committee prediction has the highest entropy are asked; 100
                                # rows a request, 2,000 queries
    ("ls-retrain", 3),          # Tramer, Zhang, Juels, Reiter & Ristenpart 2016 (Stealing machine learning models
                                # via prediction APIs, USENIX Security), line-search retraining, the label-only
                                # extraction: uniform random inputs, then line searches (binary searches asked of the
                                # API) between pairs of differently labelled points for points near the decision
                                # boundary, 20 searches in parallel (one request a halving); a substitute retrained on
                                # every answer; 2,000 queries
])
HELDOUT21_EVASION = {"zo-adamm", "adv-pso", "lf-boundary"}
# Originals: held out 10-20 took padding-split offsets 0-110 (HELDOUT10 .. 20_ORIG_PAD). Held out 21 takes the next
# distinct padding rows, offsets 111-119: no class uses them as an original or a natural start and no benign client
# sends one; aot's pool comes from the knockoff and jbda_seed splits only and ls-retrain sends uniform random inputs
# and points between them only, so no class sends or trains on another's original.
HELDOUT21_ORIG_PAD = {"zo-adamm": (111, 112, 113), "adv-pso": (114, 115, 116), "lf-boundary": (117, 118, 119)}
ZOA_EPS = 0.125
ZOA_Q = 10                      # random directions an iteration; mu, alpha, c and the betas are ours for the 8x8 input
ZOA_MU = 0.005
ZOA_ALPHA = 0.01
ZOA_BETA1 = 0.9
ZOA_BETA2 = 0.99
ZOA_C = 1.0
ZOA_BUDGET = 2000
PSO_EPS = 0.125
PSO_PARTICLES = 5               # the authors' defaults: 5 particles, C1 = C2 = 2
PSO_C1 = 2.0
PSO_C2 = 2.0
PSO_BLOCK = 4                   # the authors' 8 of a 28-pixel side, scaled to 8 pixels: blocks of 4 then 2
PSO_BUDGET = 2000
LFBA_RATIO = 0.5                # the low-frequency share of each side (the authors' 1/32 of 224 would leave none of 8)
LFBA_SPHERICAL = 0.01           # the authors' defaults: steps 0.01, adaptation 1.5 every 50 steps
LFBA_SOURCE = 0.01
LFBA_ADAPT = 1.5
LFBA_EVERY = 50
LFBA_BLEND = 10
LFBA_BUDGET = 2000
AOT_POOL = 4000
AOT_VAL = 100
AOT_INIT = 190
AOT_ADD = 190
AOT_CYCLES = 10                 # the authors' 10 cycles (the last one trains only)
AOT_SIZES = ((32,), (64,), (128,), (64, 32), (128, 64))
AOT_EPOCHS = 10                 # the authors' cfgs: 10 epochs a cycle, batches of 128
AOT_TRAIN_BATCH = 128
AOT_BATCH = 100
LSR_INIT = 100
LSR_PAIRS = 20
LSR_STEPS = 8
LSR_BUDGET = 2000
# Unseen attack classes of held out 22, fixed (2026-12-04, 02:23 UTC) by an independent evaluator before any
# tuning of the twenty-second round: 0 sessions unless --heldout22-attacks (which gives these counts) or --counts
# names them. Success as documented in setup_heldout22_attack. Written from their papers and the authors' code (ART
# 1.20.1 has none of them).
HELDOUT22_ATTACKS = collections.OrderedDict([
    ("deepsearch", 3),          # Zhang, Chowdhury & Christakis 2020 (DeepSearch: a simple and effective blackbox
                                # attack for deep neural networks, ESEC/FSE): score-based, L-inf 0.125: a search on
                                # the ball's vertices, groups of pixels (4x4, 2x2, 1) flipped to the other end one
                                # group a candidate, kept when the margin loss falls, the groups refined after each
                                # pass; one row a request; at most 2,000 queries
    ("tiling-es", 3),           # Meunier, Atif & Teytaud 2019 (Yet another but more efficient black-box adversarial
                                # attack: tiling and evolution strategies, arXiv): score-based, L-inf 0.125: the
                                # perturbation eps tanh(z) on 2x2 tiles, z searched by a (1+1)-ES with the one-fifth
                                # rule on the margin loss; one row a request; at most 2,000 queries
    ("zo-admm", 3),             # Zhao, Liu, Chen & Lin 2019 (On the design of black-box adversarial examples by
                                # leveraging gradient-free optimization and operator splitting method, ICCV),
                                # ZO-ADMM: score-based, L2: ADMM splitting the attack loss from the distortion, the
                                # linearised z-step with a random gradient estimate (the ADMM iterate, x0 + z and 10
                                # probes one request); at most 2,000 queries
    ("dfal", 3),                # Pal et al. 2020 (ActiveThief, AAAI), its DFAL strategy (Ducoffe & Precioso 2018,
                                # adversarial active learning): label-only extraction: rounds of 200 augmented
                                # natural digits closest (DeepFool on the substitute) to the substitute's decision
                                # boundary; 100 rows a request, 2,000 queries
    ("noise-theft", 3),         # Roberts, Prabhu & McAteer 2019 (Model weight theft with just noise inputs: the
                                # curious case of the petulant attacker, arXiv): extraction from noise inputs only
                                # (uniform, Gaussian, Bernoulli salt), the victim's probabilities distilled into a
                                # student; 100 rows a request, 2,000 queries
])
HELDOUT22_EVASION = {"deepsearch", "tiling-es", "zo-admm"}
# Originals: held out 10-21 took padding-split offsets 0-119 (HELDOUT10 .. 21_ORIG_PAD). Held out 22 takes the next
# distinct padding rows, offsets 120-128: no class uses them as an original or a natural start and no benign client
# sends one; dfal's pool comes from the knockoff and jbda_seed splits only and noise-theft sends noise only, so no
# class sends or trains on another's original.
HELDOUT22_ORIG_PAD = {"deepsearch": (120, 121, 122), "tiling-es": (123, 124, 125), "zo-admm": (126, 127, 128)}
DS_EPS = 0.125
DS_GROUPS = (4, 2, 1)           # the paper's hierarchical grouping (16 x 16 groups on ImageNet), scaled to 8 x 8
DS_BUDGET = 2000
TES_EPS = 0.125
TES_TILE = 2                    # tiles of 2 x 2 pixels: 16 variables (the size ours for the 8x8 input)
TES_SIGMA = 1.0
TES_BUDGET = 2000
ZADMM_Q = 10                    # random directions an iteration; mu, rho, eta, gamma and c are ours for the 8x8 input
ZADMM_MU = 0.005
ZADMM_RHO = 10.0
ZADMM_ETA = 300.0
ZADMM_GAMMA = 1.0
ZADMM_C = 1.0
ZADMM_BUDGET = 2000
DFAL_POOL = 4000
DFAL_ROUND = 200
DFAL_BATCH = 100
DFAL_EPOCHS = 20
DFAL_DF_ITERS = 10
NT_BATCH = 100
NT_EPOCHS = 30
# Unseen attack classes of held out 23, fixed (2026-12-04, 12:00 UTC) by an independent evaluator before any tuning of the
# twenty-third round: 0 sessions unless --heldout23-attacks (which gives these counts) or --counts names them. Success
# as documented in setup_heldout23_attack. Written from their papers (ART 1.20.1 has none of them; the authors' code was
# not at hand offline).
HELDOUT23_ATTACKS = collections.OrderedDict([
    ("hlbo", 3),                # Shukla, Sahu, Willmott & Kolter 2021 (Simple and efficient hard label black-box
                                # adversarial attacks in low query budget regimes, KDD): label-only, L2: Bayesian
                                # optimisation (GP, expected improvement) of OPT's distance-to-boundary g(theta) over a
                                # 4x4 direction space upsampled to 8x8, each g evaluated by a line and binary search;
                                # one row a request; stops within L2 1.0, at most 2,000 queries
    ("brusle", 3),              # Vo, Abbasnejad & Ranasinghe 2024 (BruSLeAttack: a query-efficient score-based
                                # black-box sparse adversarial attack, ICLR): score-based, L0 8: 8 pixels taken from a
                                # random synthetic image, the set searched by swaps drawn from a Dirichlet model of
                                # pixel influence updated by the answers; one row a request; at most 2,000 queries
    ("zo-ngd", 3),              # Zhao, Chen, Wang & Lin 2020 (Towards query-efficient black-box adversarial attack via
                                # zeroth-order natural gradient descent, AAAI): score-based, L-inf 0.125: ZO gradient
                                # and Fisher information estimates from the same probes, natural-gradient steps (the
                                # iterate and 10 probes one request); at most 2,000 queries
    ("spsg", 3),                # Zhao, Deng, Liu, Pei, Xia & Chen 2024 (Fully exploiting every real sample: superpixel
                                # sample gradient model stealing, CVPR): score-based extraction from few real digits,
                                # each with its superpixels' noise probes (one request of 17 rows), the student fitted
                                # to the outputs and the purified output differences; 2,000 queries
    ("badge", 3),               # Ash et al. 2020 (BADGE, ICLR) as a model-extraction thief (Chandrasekaran et al. 2020,
                                # USENIX Security; Pal et al.'s ActiveThief framework): label-only, rounds of 200
                                # augmented natural digits chosen by k-means++ on gradient embeddings; 100 rows a
                                # request, 2,000 queries
])
HELDOUT23_EVASION = {"hlbo", "brusle", "zo-ngd"}
# Originals: held out 10-22 took padding-split offsets 0-128 (HELDOUT10 .. 22_ORIG_PAD). Held out 23 takes the next
# distinct padding rows, offsets 129-137: no class uses them as an original or a natural start and no benign client
# sends one; spsg sends the knockoff and jbda_seed digits (and noise probes of them) and badge's pool comes from those
# splits only, so no class sends or trains on another's original.
HELDOUT23_ORIG_PAD = {"hlbo": (129, 130, 131), "brusle": (132, 133, 134), "zo-ngd": (135, 136, 137)}
HLBO_LOW = 4                    # the reduced dimension (4 x 4) and the constants below are ours for the 8x8 input
HLBO_INIT = 5
HLBO_GROW = 6
HLBO_TOL = 0.01
HLBO_CANDS = 2000
HLBO_LOCAL = 500
HLBO_REFIT = 10
HLBO_BUDGET = 2000
BRUSLE_K = 8
BRUSLE_ALPHA = 0.3
BRUSLE_DECAY = 0.9
BRUSLE_BUDGET = 2000
ZNGD_EPS = 0.125
ZNGD_Q = 10
ZNGD_MU = 0.005
ZNGD_DAMP = 0.01
ZNGD_LR = 0.02
ZNGD_BUDGET = 2000
SPSG_SP = 8
SPSG_M = 2
SPSG_EPS = 0.1
SPSG_BETA = 1.0
SPSG_EPOCHS = 30
BADGE_POOL = 4000
BADGE_ROUND = 200
BADGE_BATCH = 100
BADGE_EPOCHS = 20
AHA_DIM = 4
AHA_ALPHA = 1e-2
AHA_BETA = 1e-2
AHA_M = 1e-2
AHA_WINDOW = 30
AHA_TOL = 1e-5
AHA_BUDGET = 2000
RB_INIT_EVALS = 100
RB_MAX_EVALS = 10000
RB_GAMMA = 1.0
RB_HSJA_LEN = 250
RB_HSJA_DELTA = 0.05
RB_HSJA_ITERS = 150
RB_BLOCK_W = 1
RB_BLOCK_LAMBDA = 1.2
RB_BLOCK_LEN = 100
RB_BLOCK_DELTA = 1e-2
RB_SOPT_K = 200
RB_SOPT_ALPHA = 0.2
RB_SOPT_BETA = 0.001
RB_BUDGET = 2000
BASES_SIZES = ((32,), (64,), (128,), (64, 32))
BASES_EPS = 0.125
BASES_ITERS = 10
BASES_X = 3.0
BASES_LR = 0.025
BASES_BUDGET = 100
MARICH_POOL = 5000
MARICH_INIT = 200
MARICH_ROUND = 300
MARICH_G1 = 0.8
MARICH_G2 = 0.8
MARICH_EPOCHS = 20
MARICH_BATCH = 100
INV_POOL = 4000
INV_PHASES = (0.45, 0.45, 0.10)
INV_SEEDS = 20
INV_BATCH = 100
INV_EPOCHS = 30
INV_INV_EPOCHS = 200
INV_DF_ITERS = 20
NES_SAMPLES = 50
NES_SIGMA = 0.01
NES_LR = 0.02
NES_BUDGET = 2000
BANDITS_TILE = 1
BANDITS_FD_ETA = 0.1
BANDITS_EXPLORATION = 1.0
BANDITS_ONLINE_LR = 100.0
BANDITS_IMAGE_LR = 0.01
BANDITS_BUDGET = 2000
RAYS_BUDGET = 1500
RAYS_TOL = 1e-3
RAYS_LIN_RAD = 10
KCENTER_POOL = 4000
KCENTER_ROUND = 200
KCENTER_BATCH = 50
PIXEL_TH = 1
PIXEL_ITER = 6
THRESHOLD_TH = 32        # in ART's 0-255 units: the L-inf bound of ThresholdAttack
THRESHOLD_ITER = 6
ACTIVETHIEF_POOL = 4000
ACTIVETHIEF_ROUND = 250
ACTIVETHIEF_BATCH = 125
WIDE_EPS = 0.2
WIDE_JITTER = 0.02
# The padded sessions, in order (cycled): which label-only attack each one runs.
PADDED_KINDS = ["hsj-noise", "jbda", "hsj-natural", "hsj-noise"]
EVASION = {"square", "square-sybil", "square-jitter", "simba", "simba-dct", "hsj-noise", "hsj-natural"}
# Interleaved classes: the attack they run (its session kind), with cover traffic (see cover()).
INTERLEAVED = {"square-interleaved": "square", "hsj-interleaved": "hsj-natural"}
EXTRACTION = {"jbda", "knockoff"}
EXTRACTION = EXTRACTION | {"activethief", "knockoff-adaptive"}   # held out 6's (HELDOUT6_ATTACKS)
EXTRACTION = EXTRACTION | {"kcenter"}                           # held out 7's (HELDOUT7_ATTACKS)
EXTRACTION = EXTRACTION | {"eqsolve", "dfme"}                   # held out 8's (HELDOUT8_ATTACKS)
EXTRACTION = EXTRACTION | {"copycat"}                          # held out 9's (HELDOUT9_ATTACKS)
EXTRACTION = EXTRACTION | {"trnd"}                             # held out 10's (HELDOUT10_ATTACKS)
EXTRACTION = EXTRACTION | {"dissector"}                        # held out 11's (HELDOUT11_ATTACKS)
EXTRACTION = EXTRACTION | {"composite"}                        # held out 12's (HELDOUT12_ATTACKS)
EXTRACTION = EXTRACTION | {"ripper", "ripper-sybil"}          # held out 13's (HELDOUT13_ATTACKS)
EXTRACTION = EXTRACTION | {"es-attack", "es-blend"}           # held out 14's (HELDOUT14_ATTACKS)
EXTRACTION = EXTRACTION | {"cryptanalytic", "cloudleak"}       # held out 15's (HELDOUT15_ATTACKS)
EXTRACTION = EXTRACTION | {"dast", "dfms"}                     # held out 16's (HELDOUT16_ATTACKS)
EXTRACTION = EXTRACTION | {"marich", "inversenet"}              # held out 17's (HELDOUT17_ATTACKS)
EXTRACTION = EXTRACTION | {"ideal", "disguide"}                 # held out 18's (HELDOUT18_ATTACKS)
EXTRACTION = EXTRACTION | {"active-mixup", "dfhl-rs"}           # held out 19's (HELDOUT19_ATTACKS)
EXTRACTION = EXTRACTION | {"db3kd", "maze"}                     # held out 20's (HELDOUT20_ATTACKS)
EXTRACTION = EXTRACTION | {"aot", "ls-retrain"}                 # held out 21's (HELDOUT21_ATTACKS)
EXTRACTION = EXTRACTION | {"dfal", "noise-theft"}               # held out 22's (HELDOUT22_ATTACKS)
EXTRACTION = EXTRACTION | {"spsg", "badge"}                     # held out 23's (HELDOUT23_ATTACKS)
# Evasion sessions take their originals from the evasion rows from these offsets on (distinct
# for the default counts; more sessions than that wrap around and share originals).
SLOT_BASE = {"square": 0, "square-sybil": 10, "square-jitter": 13, "simba": 16, "simba-dct": 21,
             "hsj-noise": 24, "hsj-natural": 29, "padded": 32, "square-interleaved": 36,
             "hsj-interleaved": 36}
# hsj-interleaved takes its originals from the second half of the evasion rows, from this offset
# on (rows no natural start of the default counts uses), and its natural starts as slots 36-38.
ORIG2_BASE = 30

SQUARE_EPS = 0.125
JITTER = 0.008
L2_GOAL = 1.0
EXTRACT_BUDGET = 2000
CHECKPOINTS = (500, 1000, 2000)
PACE_RATE = 80.0         # requests/s per key the clients keep to (the server's default limit is 100)
PACE_BURST = 100.0
ROW_PACE_RATE = 800.0    # rows/s per key, for sessions that pace rows (the server's default: 1,000)
ROW_PACE_BURST = 4000.0  # (the server's default row burst: 5,000)

# Split of the 1,797 sklearn digits (one seeded permutation): every row has one use.
SPLIT = collections.OrderedDict([
    ("baseline", 300),       # the server's --baseline; never sent by a client
    ("evasion", 80),         # originals of evasion attacks and natural starts
    ("jbda_seed", 250),      # JbDA seed sets are drawn from here
    ("knockoff", 300),       # Knockoff-style natural data (augmented)
    ("padding", 150),        # natural padding rows of padded attacks (with knockoff and jbda_seed)
    ("shared_pool", 350),    # the benign shared popular pool
    ("private", 360),        # benign-private sessions' own images (30 each)
    # the rest (7) plus the baseline rows: the test set for surrogate agreement
])


DUMP_STREAMS = False


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Data.
class Data:
    def __init__(self, seed):
        X, y = load_digits(return_X_y=True)
        self.X = (X / 16.0).astype(np.float32)   # as the model was trained (scripts/gen_onnx_models.py)
        self.y = y.astype(np.int64)
        perm = np.random.RandomState(seed).permutation(len(self.X))
        self.idx = {}
        at = 0
        for name, n in SPLIT.items():
            self.idx[name] = perm[at:at + n]
            at += n
        self.idx["rest"] = perm[at:]
        self.idx["test"] = np.concatenate([self.idx["baseline"], self.idx["rest"]])
        used = np.concatenate([v for k, v in self.idx.items() if k not in ("test",)])
        assert len(np.unique(used)) == len(used) == len(self.X)

    def rows(self, name):
        return self.X[self.idx[name]], self.y[self.idx[name]]


def shift(img, rng):
    """One-pixel shift of an 8x8 digit (up, down, left or right), zero fill."""
    a = img.reshape(SIDE, SIDE)
    out = np.zeros_like(a)
    d = rng.integers(4)
    if d == 0:
        out[:-1] = a[1:]
    elif d == 1:
        out[1:] = a[:-1]
    elif d == 2:
        out[:, :-1] = a[:, 1:]
    else:
        out[:, 1:] = a[:, :-1]
    return out.reshape(D)


def augment(img, rng, noise):
    """A real-looking variant: maybe a one-pixel shift, intensity x U(0.85, 1.15), noise."""
    x = img.copy()
    if rng.random() < 0.5:
        x = shift(x, rng)
    x = x * rng.uniform(0.85, 1.15)
    x = x + rng.normal(0.0, noise, size=D)
    return np.clip(x, 0.0, 1.0).astype(np.float32)


def jitter(x, rng, amount=JITTER):
    return np.clip(x + rng.uniform(-amount, amount, size=x.shape), 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The server.
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, binary, ort, workdir, keys, baseline_rows, extra_config=None, preset=None):
        self.dir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = os.path.join(workdir, "events.jsonl")
        self.cfg = os.path.join(workdir, "monitor.toml")
        self.baseline = os.path.join(workdir, "baseline.npy")
        np.save(self.baseline, baseline_rows.astype(np.float32))
        with open(self.cfg, "w") as f:
            f.write("# written by bench/field/monitor_eval.py\n")
            if preset:
                f.write(f'preset = "{preset}"\n')
            f.write("[auth]\nrequired = true\n")
            for key, client in keys:
                f.write(f'[[auth.keys]]\nclient = "{client}"\nsha256 = "{hashlib.sha256(key.encode()).hexdigest()}"\n')
            # A fixed fingerprint key: the probing detector's hash subsets follow from it, so a
            # rerun is the same experiment (absent, it is random per run).
            f.write('[detect]\nkey = "%s"\n' % hashlib.sha256(b"modelsec field monitor eval").hexdigest())
            if extra_config:
                f.write("\n# --extra-config\n" + open(extra_config).read())
        env = dict(os.environ, ORT_DYLIB_PATH=ort)
        self.err = open(os.path.join(workdir, "serve.stderr"), "w")
        self.proc = subprocess.Popen(
            [binary, "serve", MODEL, "--config", self.cfg, "--listen", f"127.0.0.1:{self.port}",
             "--log", self.log, "--durability", "always", "--baseline", self.baseline],
            stdout=self.err, stderr=self.err, env=env, cwd=workdir)
        for _ in range(300):
            if self.proc.poll() is not None:
                break
            try:
                if requests.get(self.url + "/v2/health/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit("modelsec serve did not become ready:\n" + open(self.err.name).read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


# ---------------------------------------------------------------------------------------------
# One request at a time, sessions in a fixed round-robin: each session runs in its own thread
# (ART's attacks are synchronous) but only the baton holder runs, and it hands the baton on after
# every request. So the order of requests, and with it the server's global state, is the same on
# every run; each session's global `np.random`/`random` state (ART uses both) is its own.
class Baton:
    def __init__(self):
        self.active = []
        self.events = {}

    def add(self, s):
        self.active.append(s)
        self.events[s.name] = threading.Event()

    def _grant(self, s):
        self.events[s.name].set()

    def acquire(self, s):
        self.events[s.name].wait()
        self.events[s.name].clear()
        np.random.set_state(s.np_state)
        random.setstate(s.py_state)

    def _save(self, s):
        s.np_state = np.random.get_state()
        s.py_state = random.getstate()

    def alone(self):
        return len(self.active) <= 1

    def pass_on(self, s):
        if self.alone():
            return
        self._save(s)
        i = self.active.index(s)
        self._grant(self.active[(i + 1) % len(self.active)])
        self.acquire(s)

    def finish(self, s):
        self._save(s)
        i = self.active.index(s)
        self.active.pop(i)
        if self.active:
            self._grant(self.active[i % len(self.active)])

    def run(self, sessions, body):
        for s in sessions:
            self.add(s)

        def thread(s):
            self.acquire(s)
            try:
                body(s)
            except Exception as e:  # noqa: BLE001 — recorded in the session's result
                import traceback
                s.error = f"{type(e).__name__}: {e}"
                log(f"  {s.name}: {s.error}\n{traceback.format_exc()}")
            finally:
                self.finish(s)

        threads = [threading.Thread(target=thread, args=(s,), daemon=True) for s in sessions]
        for t in threads:
            t.start()
        if sessions:
            self._grant(sessions[0])
        for t in threads:
            t.join()


class Refused(Exception):
    """The server refused the request (403, or 429 after retries): the attacker saw it."""


class Http:
    def __init__(self, url):
        self.url = f"{url}/v2/models/{MODEL_NAME}/infer"
        self.http = requests.Session()
        self.sent = 0
        self.started = time.time()


class Session:
    def __init__(self, name, cls, keys, seed):
        self.name = name
        self.cls = cls
        self.kind = cls
        self.keys = keys                    # [(key, client)]
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        np.random.seed(seed % (2**32))
        random.seed(seed)
        self.np_state = np.random.get_state()
        self.py_state = random.getstate()
        self.requests = []                  # one dict per HTTP request, in send order
        self.queries = 0                    # attack queries (rows the attack asked about)
        self.key_i = 0
        self.buckets = {k: [PACE_BURST, time.time()] for k, _ in keys}
        self.pace_rows = False              # also pace rows (ROW_PACE_RATE), not only requests
        self.row_buckets = {}
        self.success = None
        self.labelled = []                  # extraction: (rows, labels) of attack queries
        self.padding_labelled = []          # padded extraction: (rows, labels) of padding rows
        self.meta = {}
        self.error = None
        self.refused = 0
        self.check = None                   # evasion: fn(rows, labels) -> index of first success
        self.pad = None                     # fn(n) -> padding rows
        self.keep_seen = cls.startswith("benign") or cls in EXTRACTION or cls == "padded"
        self.seen = []                      # (rows, their labels) of answered requests
        self.stream = []                    # --dump-streams: every answered request, whole
        self.jitter = False
        self.jitter_amount = JITTER
        self.key_of = None                  # fn() -> index of the key for the next request
        self.attack_requests = 0            # answered requests with attack rows
        self.cover = None                   # interleaved: fn() -> one cover request's rows
        self.cover_requests = 0
        self.interleave = 0                 # cover requests before every attack request
        self.index = 0                      # the session's number within its class
        self.mix = None                     # mixing: fn(n) -> n natural rows the attack rows are
                                            # shuffled among (held out 7's nes-mixed)


def post(h, s, key, rows, scores):
    body = {"inputs": [{"name": "X", "shape": [int(rows.shape[0]), D], "datatype": "FP32",
                        "data": rows.astype(np.float32).ravel().tolist()}]}
    if not scores:
        body["outputs"] = [{"name": "label"}]
    data = json.dumps(body).encode()
    r = h.http.post(h.url, data=data, headers={"Authorization": f"Bearer {key}",
                                                "Content-Type": "application/json"}, timeout=60)
    h.sent += 1
    if h.sent % 2000 == 0:
        log(f"  {h.sent} requests, {time.time() - h.started:.0f} s")
    return r, len(data)


def pace(baton, s, key, rows=1):
    """Keep every key under the server's rate limit, as a client that read the API's docs would
    (sessions with `pace_rows` also keep under its row limit, every row of a batch counted)."""
    b = s.buckets[key]
    r = s.row_buckets.setdefault(key, [ROW_PACE_BURST, time.time()]) if s.pace_rows else None
    need = min(float(rows), ROW_PACE_BURST)
    while True:
        now = time.time()
        b[0] = min(PACE_BURST, b[0] + (now - b[1]) * PACE_RATE)
        b[1] = now
        wait = 0.0 if b[0] >= 1.0 else (1.0 - b[0]) / PACE_RATE
        if r is not None:
            r[0] = min(ROW_PACE_BURST, r[0] + (now - r[1]) * ROW_PACE_RATE)
            r[1] = now
            wait = max(wait, 0.0 if r[0] >= need else (need - r[0]) / ROW_PACE_RATE)
        if wait == 0.0:
            b[0] -= 1.0
            if r is not None:
                r[0] -= float(rows)
            return
        if baton.alone():
            time.sleep(wait)
        else:
            baton.pass_on(s)


def query(h, baton, s, attack_rows, scores=True, hold=False, cover=False):
    """Send the attack's rows (after padding, if the session pads); returns (labels, probs) of the
    attack rows; records the request; hands the baton on (unless `hold`: the session sends its
    next request straight away, as in a burst). An interleaved session first sends
    `s.interleave` cover requests (`cover=True`: its own natural rows, no attack query among
    them). Raises Refused."""
    if s.cover is not None and not cover:
        for _ in range(s.interleave):
            query(h, baton, s, s.cover(), scores=True, cover=True)
    attack_rows = np.asarray(attack_rows, dtype=np.float32).reshape(-1, D)
    if s.jitter and not cover:
        attack_rows = jitter(attack_rows, s.rng, s.jitter_amount)
    n_att = 0 if cover else attack_rows.shape[0]
    pad = s.pad(n_att) if s.pad is not None and not cover else np.zeros((0, D), np.float32)
    rows = np.concatenate([pad, attack_rows]) if len(pad) else attack_rows
    at = None
    if s.mix is not None and not cover:
        # The attack rows at random places among as many natural rows; `at`: where each went.
        perm = s.rng.permutation(2 * n_att)
        rows = np.concatenate([attack_rows, s.mix(n_att)])[perm]
        at = np.argsort(perm)[:n_att]
    retries = 0
    while True:
        key = s.keys[(s.key_of() if s.key_of is not None else s.key_i) % len(s.keys)][0]
        s.key_i += 1
        pace(baton, s, key, rows.shape[0])
        r, nbytes = post(h, s, key, rows, scores)
        rec = {"i": len(s.requests), "key": key, "rows": int(rows.shape[0]), "attack_rows": n_att,
               "queries_before": s.queries, "status": r.status_code, "bytes": nbytes}
        s.requests.append(rec)
        if r.status_code == 200:
            break
        if r.status_code == 429 and retries < 3:
            retries += 1
            t429 = time.time()
            while time.time() - t429 < 1.0:
                if baton.alone():
                    time.sleep(1.0 - (time.time() - t429))
                else:
                    baton.pass_on(s)
            continue
        s.refused += 1
        baton.pass_on(s)
        raise Refused(f"HTTP {r.status_code}: {r.text[:200]}")
    out = {o["name"]: o for o in r.json()["outputs"]}
    labels = np.asarray(out["label"]["data"], dtype=np.int64)
    if s.keep_seen:
        s.seen.append((rows, labels))
    probs = None
    if "probabilities" in out:
        probs = np.asarray(out["probabilities"]["data"], dtype=np.float32).reshape(-1, 10)
    if DUMP_STREAMS:
        s.stream.append((rec["i"], len(pad), rows.copy(), labels.copy(), probs))
    if at is not None:
        labels = labels[at]
        probs = probs[at] if probs is not None else None
    if cover:
        s.cover_requests += 1
        if not hold:
            baton.pass_on(s)
        return labels, probs
    if len(pad):
        if s.kind in EXTRACTION:
            s.padding_labelled.append((pad, labels[:len(pad)]))
        labels = labels[len(pad):]
        probs = probs[len(pad):] if probs is not None else None
    if s.check is not None and s.success is None:
        j = s.check(attack_rows, labels)
        if j is not None:
            x = attack_rows[j]
            o = s.meta["x0"]
            s.success = {"query": s.queries + j + 1, "request": rec["i"],
                         "l2": float(np.linalg.norm(x - o)), "linf": float(np.abs(x - o).max())}
    if s.kind in EXTRACTION:
        s.labelled.append((attack_rows, labels))
    s.queries += n_att
    s.attack_requests += 1
    if not hold:
        baton.pass_on(s)
    return labels, probs


class _OneRequest(BlackBoxClassifierNeuralNetwork):
    """The black-box estimator, every predict call one request whatever ART's batch_size (ZOO asks
    with batch_size 1 for its 2 x nb_parallel coordinate probes; a real client sends them as one
    batch, as the paper's implementation evaluates them), clipped to the input range [0, 1]: ART's
    ZOO does not keep its probes inside the estimator's clip_values, and the server answers 400 to
    a row outside the baseline's range, which would end the attack."""

    def predict(self, x, batch_size=128, **kwargs):
        return super().predict(np.clip(x, 0.0, 1.0), batch_size=max(len(x), 1), **kwargs)


def remote(h, baton, s, scores, one_request=False):
    """An ART black-box estimator whose predict_fn is an HTTP call to the monitored server."""
    def predict(x):
        labels, probs = query(h, baton, s, np.asarray(x).reshape(-1, D), scores=scores)
        if scores:
            return probs
        return np.eye(10, dtype=np.float32)[labels]   # label-only: a one-hot of the answer
    cls = _OneRequest if one_request else BlackBoxClassifierNeuralNetwork
    return cls(predict, input_shape=(1, SIDE, SIDE), nb_classes=10, clip_values=(0.0, 1.0), channels_first=True)


class _SeededRandom:
    """numpy.random for ART's HopSkipJump, whose random start draws from an unseeded
    `np.random.RandomState()` (OS entropy): here seeded from the session's own global state."""

    def __getattr__(self, name):
        return getattr(np.random, name)

    @staticmethod
    def RandomState(seed=None):
        return np.random.RandomState(np.random.randint(0, 2**31 - 1) if seed is None else seed)


class _NumpyForHSJ:
    random = _SeededRandom()

    def __getattr__(self, name):
        return getattr(np, name)


import art.attacks.evasion.hop_skip_jump as _hsj  # noqa: E402

_hsj.np = _NumpyForHSJ()
import art.attacks.evasion.boundary as _boundary  # noqa: E402  (the same unseeded RandomState())

_boundary.np = _NumpyForHSJ()


# ---------------------------------------------------------------------------------------------
# Benign clients.
# Benign client habits. "dev" is the habits the detectors were first developed against;
# "heldout" was written down before any tuning and run once at the end of the first round (it is
# now spent: its results were seen). "dev-heavy" (dev, added for the second round) is long-session
# heavy clients: 100-320 requests, 30 % batches of 2-9 rows, a fifth re-sends, and augmentation of
# their own images (noise, one-pixel shifts, brightness, a small erased patch). "heldout2" was
# fixed before any tuning of the second round, together with seeds 9101-9103, and is measured
# only at the end: log-normal session lengths (median 150 requests, 40-600), 35 % batches of
# 2-16 rows, small rotations, blur, contrast changes, a very skewed pool.
#
# "heldout3" was fixed before any tuning of the third round, together with seeds 9301-9303, and
# is measured only at the end, by the lead (not run by the harness's author): clients with the
# habits of real inference clients the other sets lack (see run_benign_personas).
#
# Keys: requests (lo, hi) uniform, or lengths=(median, sigma, lo, hi) log-normal; batch_p,
# batch (lo, hi); resend; noise (p, sigma); then the probability of each augmentation kind.
# Habits with `personas` are run by run_benign_personas (its own keys, documented there).
HABITS = {
    "dev": dict(requests=(40, 81), batch_p=0.12, batch=(2, 7), resend=0.12, noise=(0.14, 0.02),
                shift1=0.14, bright=0.0, shift2=0.0, pool_rank=20.0, send_target=8),
    "heldout": dict(requests=(60, 201), batch_p=0.25, batch=(2, 13), resend=0.15, noise=(0.10, 0.03),
                    shift1=0.10, bright=0.10, shift2=0.05, pool_rank=5.0, send_target=12),
    "dev-heavy": dict(requests=(100, 321), batch_p=0.30, batch=(2, 10), resend=0.20,
                      noise=(0.15, 0.025), shift1=0.12, bright=0.12, bright_range=(0.75, 1.25),
                      erase=0.05, pool_rank=8.0, send_target=10),
    "heldout2": dict(lengths=(150, 0.6, 40, 600), batch_p=0.35, batch=(2, 17), resend=0.18,
                     noise=(0.08, 0.04), shift1=0.06, rotate=0.10, blur=0.08, contrast=0.10,
                     pool_rank=3.0, send_target=15),
    "heldout3": dict(
        personas=(("plain", 0.20), ("scan", 0.20), ("tta", 0.20), ("ambiguous", 0.20), ("bursty", 0.20)),
        lengths=(90, 0.5, 25, 320), long=(0.06, 600, 1100),
        batch_profiles=(("single", 0.45), ("mixed", 0.35), ("fixed", 0.20)),
        mixed_batches=((1, 0.62), ((2, 9), 0.25), (16, 0.08), (32, 0.04), (64, 0.01)),
        fixed_batch=(4, 8, 16),
        resend=0.10, retry=0.03, noise=(0.06, 0.02), bright=0.04, contrast=0.04, crop=0.04,
        warmup=(1, 4), health_every=(20, 25, 50), health_zeros=1 / 3,
        tta=(4, 9), tta_batch=0.6,
        ambiguous_share=0.5, ambiguous_frac=0.10, ambiguous_resends=(2, 6),
        burst=(5, 41), idle=(10, 151), double_submit=0.05,
        pool_rank=4.0, pool_size=350),
    # "heldout4" was fixed (2026-12-01, 10:25 UTC) by an independent evaluator before any tuning
    # of the fourth round, together with seeds 9401-9403, and is measured only at the end:
    # habits of real inference clients that none of dev .. heldout3 model (camera frames,
    # re-encoding, labelling-tool sliders, A/B pairs, sliding-window tiles, backoff retries, one
    # favourite image, TTA with other transforms). See run_benign_heldout4 for each key.
    "heldout4": dict(
        personas4=(("video", 0.16), ("reencode", 0.14), ("slider", 0.12), ("ab", 0.12),
                   ("tiles", 0.10), ("backoff", 0.12), ("popular", 0.10), ("tta2", 0.14)),
        lengths=(75, 0.45, 40, 260), batch_p=0.15, batch=(2, 9), resend=0.08,
        quant8=0.5, jpeg_quality=(40, 96),
        video_scene=(12, 41), video_step_px=0.12, video_gain_step=0.01, video_noise=0.01,
        video_batch=(2, 5),
        slider_requests=(6, 19), slider_step=(0.03, 0.08),
        ab_batch=0.5, tile_stride=(2, 4), tile_mosaic=0.4,
        backoff_fail=0.08, backoff_tries=(1, 5),
        popular_share=(0.5, 0.8), tta2=(3, 7), tta2_batch=0.5,
        pool_rank=6.0, pool_size=350),
    # "heldout5" was fixed (2026-12-01, 12:40 UTC) by an independent evaluator before any tuning
    # of the fifth round, together with seeds 9501, 9502, 9503, and is measured only at the end:
    # habits of real inference clients that none of dev .. heldout4 model (scanned form fields,
    # an active-learning review queue, live handwriting recognition while the digit is drawn,
    # progressive image loading, a corruption-severity robustness sweep, a synthetic-monitoring
    # canary, a client with a pre-processing bug fixed mid-session, explanation (occlusion / LIME)
    # requests). See run_benign_heldout5 for each key.
    "heldout5": dict(
        personas5=(("form", 0.14), ("active", 0.12), ("drawing", 0.14), ("progressive", 0.12),
                   ("corrupt", 0.12), ("canary", 0.10), ("misconfig", 0.12), ("explain", 0.14)),
        lengths=(75, 0.45, 40, 260), batch_p=0.15, batch=(2, 9), resend=0.06, quant8=0.4,
        form_fields=(4, 11), form_batch=0.6, form_skew=6.0, form_shear=0.15,
        active_candidates=(8, 33), active_review=(1, 5), active_cleanups=(1, 4),
        drawing_frames=(6, 17), drawing_redraw=0.25, drawing_submit=0.5,
        progressive_early_exit=0.3, progressive_confident=0.9,
        corrupt_types=(2, 5), corrupt_batch=0.5,
        canary_golden=(5, 13), canary_batch=0.5, canary_idle=(5, 31),
        misconfig_share=(0.2, 0.6),
        explain_lime=0.5, lime_samples=(40, 101), lime_batch=10, occlusion_batch=(1, 16, 64),
        pool_rank=6.0, pool_size=350),
    # "heldout6" was fixed (2026-12-01, 15:35 UTC) by an independent evaluator before any tuning
    # of the sixth round, together with seeds 9601, 9602, 9603, and is measured only at the end
    # (and once before, by the evaluator, with the round's starting binary): habits of real
    # inference clients that none of dev .. heldout5 model (document OCR with a per-document Otsu
    # threshold or fax dithering, a mobile resolution ladder, orientation checks by rotation,
    # a client-side near-duplicate cache, a team sharing one key, a defective camera sensor,
    # exposure bracketing, multi-digit segmentation hypotheses). See run_benign_heldout6.
    "heldout6": dict(
        personas6=(("otsu", 0.13), ("ladder", 0.13), ("orient", 0.12), ("cache", 0.12),
                   ("team", 0.12), ("sensor", 0.13), ("bracket", 0.12), ("segment", 0.13)),
        lengths=(80, 0.5, 30, 280), batch_p=0.15, batch=(2, 9), quant8=0.4,
        otsu_digits=(3, 13), otsu_batch=0.5, otsu_dither=0.3, otsu_background=(0.0, 0.12),
        otsu_gain=(0.7, 1.0), otsu_noise=0.03,
        ladder_levels=(8, 6, 4), ladder_stay=0.85,
        orient_flips=0.4, orient_batch=0.5,
        cache_radius=0.5, cache_size=200, cache_ttl=60, cache_batch=(2, 13),
        team_size=(2, 6),
        sensor_dead=(1, 4), sensor_hot=(0, 3), sensor_vignette=(0.1, 0.35), sensor_prnu=0.03,
        sensor_noise=0.015,
        bracket_n=(3, 5), bracket_batch=0.5, bracket_fused=0.5,
        segment_digits=(3, 7), segment_gap=(0, 3), segment_batch=0.5,
        pool_rank=6.0, pool_size=350),
    # "heldout7" was fixed (2026-12-01, 18:19 UTC) by an independent evaluator before any tuning
    # of the seventh round, together with seeds 9701, 9702, 9703, and is measured only at the end
    # (and once before, by the evaluator, with the round's starting binary): habits of real
    # inference clients that none of dev .. heldout6 model (randomized-smoothing certified
    # prediction, a feature-squeezing detector, cross-dissolve morphs between two digits, an
    # elastic-augmentation QA tool, re-created optdigits inputs on the 1/16 grid, whiteboard photos
    # with flat-field correction, a shuffled eval-set replay, stroke-width normalisation sweeps;
    # half-precision clients). See run_benign_heldout7.
    "heldout7": dict(
        personas7=(("smoothing", 0.12), ("squeeze", 0.13), ("morph", 0.12), ("elastic", 0.13),
                   ("optdigits", 0.13), ("whiteboard", 0.12), ("evalshuffle", 0.12), ("stroke", 0.13)),
        lengths=(80, 0.5, 30, 280), batch_p=0.15, batch=(2, 9), quant8=0.3, fp16=0.2,
        smooth_n=(16, 32, 64), smooth_sigma=(0.12, 0.25), smooth_chunk=(16, 32), smooth_clean=0.5,
        squeeze_bits=(1, 3, 4, 5), squeeze_batch=0.6,
        morph_steps=(5, 12), morph_batch=0.5,
        elastic_n=(3, 9), elastic_alpha=(1.0, 2.5), elastic_sigma=1.2, elastic_batch=0.6,
        opt_thresh=(0.3, 0.6), opt_offset=2,
        wb_amp=(0.05, 0.25), wb_base=(0.1, 0.3), wb_gain=(0.6, 0.9), wb_noise=0.02,
        eval_size=(40, 121), eval_batch=(8, 16, 32),
        stroke_n=(3, 6), stroke_batch=0.5,
        pool_rank=6.0, pool_size=350),
    # "heldout8" was fixed (2026-12-01, 21:18 UTC) by an independent evaluator before any tuning
    # of the eighth round, together with seeds 9801, 9802, 9803, and is measured only at the end
    # (and once before, by the evaluator, with the round's starting binary): habits of real
    # inference clients that none of dev .. heldout7 model (a seven-segment meter reader, an
    # MNIST-style pre-processing pipeline, static-shape batches padded to size, a labelling tool's
    # brush edits, burned-in camera overlays, a kiosk camera's stream of empty frames and passing
    # cards, a micro-batching API gateway for many end users, notebook-paper lines; values rounded
    # to decimals by JSON clients). See run_benign_heldout8.
    "heldout8": dict(
        personas8=(("meter", 0.12), ("mnistprep", 0.13), ("padbatch", 0.12), ("editor", 0.13),
                   ("overlay", 0.13), ("kiosk", 0.12), ("proxy", 0.12), ("notebook", 0.13)),
        lengths=(80, 0.5, 30, 280), batch_p=0.15, batch=(2, 9), json3=0.25, json2=0.15,
        meter_digits=(4, 5, 6), meter_lit=(0.7, 1.0), meter_ghost=(0.0, 0.15), meter_slant=0.15,
        meter_blur=(0.3, 0.6), meter_retake=0.1, meter_idle=(0, 6),
        mnist_res=(16, 24, 32), mnist_deskew=0.5, mnist_fill=(1.0, 0.9),
        pad_size=(8, 16, 32), pad_rate=3.0, pad_repeat=0.4,
        edit_conf=0.9, edit_anyway=0.1, edit_max=4, edit_undo=0.2,
        logo_alpha=(0.3, 0.6),
        kiosk_bg=0.08, kiosk_noise=0.015, kiosk_empty=(3, 16), kiosk_hold=(3, 11),
        proxy_users=(20, 201), proxy_load=(0.5, 6.0), proxy_dup=0.05, proxy_max=32,
        nb_spacing=(3, 4, 5), nb_level=(0.1, 0.3),
        pool_rank=6.0, pool_size=350),
    # "heldout9" was fixed (2026-12-02, 00:20 UTC) by an independent evaluator before any tuning of the ninth
    # round, together with seeds 9901, 9902, 9903, and is measured only at the end (and once
    # before, by the evaluator, with the round's starting binary): habits of real inference clients
    # that none of dev .. heldout8 model (a sudoku solver's grid cells, an edge / cloud cascade
    # that sends only what its on-device model is unsure of, a load test repeating one payload over
    # a batch-size sweep, low-light shot noise, a dashboard re-scoring a growing table, screen
    # photos with moire, a synthetic-data generator's samples, a cheque's courtesy-amount box;
    # bfloat16 and %g number formats). See run_benign_heldout9.
    "heldout9": dict(
        personas9=(("sudoku", 0.12), ("cascade", 0.13), ("loadtest", 0.12), ("lowlight", 0.13),
                   ("dashboard", 0.12), ("screen", 0.13), ("synth", 0.12), ("cheque", 0.13)),
        lengths=(80, 0.5, 30, 280), batch_p=0.15, batch=(2, 9), bf16=0.2, g6=0.15,
        sudoku_givens=(22, 36), sudoku_shift=0.3, sudoku_inset=(0.2, 0.5), sudoku_all=0.3, sudoku_retake=0.25,
        sudoku_idle=(0, 6),
        cascade_aug=2, cascade_conf=(0.8, 0.97), cascade_batch=(1, 4, 8),
        load_payload=(("random", 0.5), ("zeros", 0.2), ("sample", 0.3)), load_sizes=(1, 2, 4, 8, 16, 32),
        load_steps=(5, 10, 20),
        low_photons=(8.0, 40.0),
        dash_rows=(5, 41), dash_page=(16, 32), dash_new=2.0, dash_idle=(0, 11),
        screen_glow=(0.05, 0.15), screen_moire=(0.03, 0.12), screen_period=(2.2, 4.0),
        synth_k=(8, 16), synth_batch=(16, 32), synth_temp=(0.5, 0.8, 1.0),
        cheque_width=(10, 12), cheque_idle=(0, 4),
        pool_rank=6.0, pool_size=350),
    # "heldout10" was fixed (2026-12-02, 03:34 UTC) by an independent evaluator before any tuning of the
    # tenth round, together with seeds 10001, 10002, 10003, and is measured only at the end (and once
    # before, by the evaluator, with the round's starting binary): habits of real inference clients
    # that none of dev .. heldout9 model (an at-least-once stream consumer that replays its uncommitted
    # micro-batches after a crash or rebalance, a microfilm archive digitisation job (reel scratches,
    # film grain, fading, bleed-through), a cheap camera module read without vsync (stale duplicate
    # frames, torn frames), a children's handwriting tutor (mirror-reversed, oversized, crayon digits,
    # re-tries on a wrong answer), on-device local-differential-privacy noise, a photo-gallery auto-
    # tagger with a prefetch window and an LRU cache (re-sends on scrolling back), a receipt reader
    # (thermal-printed digits with dead print-head dots, faded paper, handwritten tips), a labelling
    # queue with consensus pre-labels (each task re-opened by 2-3 annotators, skips re-queued);
    # values scaled by 1/256 instead of 1/255). See run_benign_heldout10.
    "heldout10": dict(
        personas10=(("consumer", 0.13), ("microfilm", 0.12), ("tearing", 0.13), ("kids", 0.12),
                    ("privacy", 0.12), ("gallery", 0.13), ("receipt", 0.12), ("consensus", 0.13)),
        lengths=(80, 0.5, 30, 280), batch_p=0.15, batch=(2, 9), div256=0.2,
        cons_batch=(8, 16, 32), cons_rate=(4.0, 24.0), cons_commit=(3, 9), cons_crash=0.05, cons_restart=(2, 11),
        film_page=(16, 49), film_gain=(0.55, 0.85), film_grain=0.08, film_scratches=(0, 3),
        film_scratch_level=(0.3, 0.7), film_dust=0.3, film_bleed=0.3, film_bleed_level=(0.1, 0.25),
        tear_hold=(4, 16), tear_p=0.5, tear_stale=0.25, tear_batch=(1, 1, 4),
        kid_mirror=(0.1, 0.3), kid_thick=0.5, kid_zoom=(1.0, 1.35), kid_tries=3, kid_idle=(0, 5),
        ldp_scale=(0.05, 0.15),
        gal_album=(30, 151), gal_cache=(12, 41), gal_window=(4, 6, 9), gal_prefetch=(2, 4, 8), gal_back=0.25,
        gal_jump=0.05, gal_new=0.05,
        rcpt_amounts=(3, 9), rcpt_fade=(0.5, 1.0), rcpt_dead=(0, 3), rcpt_tip=0.4, rcpt_idle=(0, 4),
        cns_k=(2, 3), cns_page=(1, 1, 10), cns_skip=0.1,
        pool_rank=6.0, pool_size=350),
    # "heldout11" was fixed (2026-12-02, 05:20 UTC) by an independent evaluator before any tuning of the
    # eleventh round, together with seeds 11001, 11002, 11003, and is measured only at the end (and once
    # before, by the evaluator, with the round's starting binary): habits of real inference clients
    # that none of dev .. heldout10 model (a mail sorter reading handwritten postcodes under postmark
    # cancellation waves, a semi-supervised training job pseudo-labelling weak / strong RandAugment
    # views of its unlabelled set, a dot-matrix printer's log lines with a wearing ribbon, a CSV export
    # with missing pixel values imputed, a provenance watermark on every stored image, a camera on a
    # mechanical drum counter whose digits roll, a port gate reading stencilled container numbers from
    # several sides, a shelf-scanning robot reading e-paper price labels with ghosting; FP8 E4M3 and
    # int8 fixed-point number formats). See run_benign_heldout11.
    "heldout11": dict(
        personas11=(("postal", 0.125), ("randaug", 0.125), ("dotmatrix", 0.125), ("imputer", 0.125),
                    ("watermark", 0.125), ("drum", 0.125), ("stencil", 0.125), ("eink", 0.125)),
        lengths=(80, 0.5, 30, 280), batch_p=0.15, batch=(2, 9), fp8=0.15, q7=0.10,
        post_len=((5, 0.5), (9, 0.2), (4, 0.15), (6, 0.15)), post_tint=0.4, post_cancel=0.3,
        post_tray=(20, 61), post_change=(2, 7),
        ra_unlabelled=(20, 61), ra_mu=(4, 8), ra_n=2, ra_cutout=4,
        dm_dead=0.3, dm_ribbon=(0.6, 1.0), dm_wear=(0.001, 0.004), dm_ticket=(6, 11), dm_idle=(0, 4),
        imp_rate=(0.02, 0.10), imp_method=(("mean", 0.5), ("zero", 0.25), ("median", 0.25)),
        imp_page=(8, 16, 32), imp_run=0.2,
        wm_coeffs=8, wm_strength=(0.02, 0.05), wm_double=0.1,
        drum_n=(5, 9), drum_rate=(0.3, 5.0), drum_gain=(0.7, 1.0), drum_glare=0.2, drum_idle=(0, 6),
        sten_sides=(2, 3), sten_bg=(0.05, 0.3), sten_idle=(0, 7),
        eink_shelves=(3, 10), eink_labels=(4, 11), eink_change=0.05, eink_refresh=0.2, eink_idle=(2, 9),
        pool_rank=6.0, pool_size=350),
    # "heldout12" was fixed (2026-12-02, 08:16 UTC) by an independent evaluator before any tuning of the
    # twelfth round, together with seeds 12001, 12002, 12003, and is measured only at the end (and once
    # before, by the evaluator, with the round's starting binary): habits of real inference clients
    # that none of dev .. heldout11 model (a latency-sensitive client that hedges slow requests with an
    # identical duplicate, a payment-card scanner reading embossed numbers until the Luhn check passes,
    # a race-photo service tagging runners' bib numbers from several photographers, a homework-helper
    # app sending every glyph of a handwritten sum, operators included, a conveyor camera reading
    # laser-etched serials on brushed metal, a lecture-capture system re-reading a blackboard as it
    # fills, a lottery draw machine's camera on tumbling numbered balls, an election tally-sheet reader
    # with struck-through corrections; TF32 and 16-bit PNG number formats). See run_benign_heldout12.
    "heldout12": dict(
        personas12=(("hedge", 0.125), ("cardscan", 0.125), ("bib", 0.125), ("mathsolver", 0.125),
                    ("etched", 0.125), ("chalk", 0.125), ("lottery", 0.125), ("tally", 0.125)),
        lengths=(80, 0.5, 30, 280), batch_p=0.15, batch=(2, 9), tf32=0.15, u16=0.10,
        hedge_p=(0.03, 0.12), hedge_timeout=0.02, hedge_wait=(1, 4),
        card_frames=(2, 7), card_relief=(0.15, 0.35), card_bg=(0.05, 0.25), card_blur=0.3, card_idle=(2, 9),
        bib_field=(500, 2000, 10000, 30000), bib_cams=(2, 5), bib_curve=(0.1, 0.3), bib_crease=0.3,
        bib_pin=0.2, bib_idle=(0, 4),
        math_terms=(2, 4), math_answer=0.5, math_reshoot=0.3, math_idle=(1, 7),
        etch_len=(8, 13), etch_streak=(0.02, 0.08), etch_glare=0.25, etch_idle=(0, 3), etch_stop=0.02,
        chalk_new=(1, 4), chalk_cap=(12, 31), chalk_occlude=0.2, chalk_every=(1, 5),
        lot_max=(49, 59, 69, 90), lot_shots=(2, 3), lot_spin=40.0, lot_idle=(10, 31),
        tally_boxes=(10, 26), tally_fix=0.08, tally_pile=(5, 16), tally_idle=(3, 11),
        pool_rank=6.0, pool_size=350),
    # "heldout13" was fixed (2026-12-02, 10:36 UTC) by an independent evaluator before any tuning of the
    # thirteenth round, together with seeds 13001, 13002, 13003, and is measured only at the end (and once
    # before, by the evaluator, with the round's starting binary): habits of real inference clients
    # that none of dev .. heldout12 model (a sports-data feed reading a broadcast's score bug as the clock
    # ticks, a street-level mapping pipeline sending every overlapping region proposal of a house number,
    # an RPA bot polling a legacy terminal's bitmap-font screen, a low-vision user's app reading a note
    # while the phone is aimed at it until the answer is stable, a handwriting data-collection kiosk
    # checking every prompted digit as it is written, a bus-stop app reading an approaching bus's LED
    # route number, a web crawler's alt-text job reading notification badges, a classroom-response app
    # reading a class's mini whiteboards; 8-bit sRGB linearised and 10-bit camera number formats). See
    # run_benign_heldout13.
    "heldout13": dict(
        personas13=(("scorebug", 0.125), ("streetview", 0.125), ("rpa", 0.125), ("aimcam", 0.125),
                    ("collect", 0.125), ("busstop", 0.125), ("badges", 0.125), ("slates", 0.125)),
        lengths=(80, 0.5, 30, 280), srgb=0.15, raw10=0.10,
        sb_quality=(50, 86), sb_stop=(3, 16), sb_score=0.06,
        sv_props=(3, 7), sv_pair=0.4, sv_idle=(0, 5),
        rpa_fields=(3, 9), rpa_poll=(2, 3, 5, 8), rpa_change=0.1, rpa_redraw=0.03,
        aim_stable=3, aim_max=25, aim_idle=(5, 21),
        col_reps=(2, 6), col_rewrite=2, col_idle=(3, 16),
        bus_routes=(3, 9), bus_frames=(6, 13), bus_idle=(5, 26),
        badge_sites=(3, 9), badge_refetch=0.15, badge_idle=(0, 3),
        slate_class=(12, 33), slate_retake=0.25, slate_idle=(3, 11),
        pool_rank=6.0, pool_size=350),
    # "heldout14" was fixed (2026-12-02, 14:10 UTC) by an independent evaluator before any tuning of the
    # fourteenth round, together with seeds 14001, 14002, 14003, and is measured only at the end (and once
    # before, by the evaluator, with the round's starting binary): habits of real inference clients
    # that none of dev .. heldout13 model (field inspectors' digital pens synced when docked, services
    # fanned out from one upload topic calling the model on the same images, an interlaced analog CCTV
    # camera on a forklift reading bay labels, an archive of photocopies of photocopies, a car-park
    # licence-plate reader by day and infra-red night, a bingo hall's app reading players' cards from
    # the hall's printer, a public "draw a digit" demo page, a courier app's door-number photos through
    # a document filter with dead-zone queueing; unexpanded limited-range video luma and Q15
    # fixed-point number formats). See run_benign_heldout14.
    "heldout14": dict(
        personas14=(("smartpen", 0.125), ("fanout", 0.125), ("forklift", 0.125), ("copier", 0.125),
                    ("lpr", 0.125), ("bingo", 0.125), ("webdemo", 0.125), ("delivery", 0.125)),
        lengths=(75, 0.6, 20, 320), tvrange=0.12, q15=0.10,
        pen_speed=(1.5, 4.5), pen_digits=(8, 41), pen_resync=0.1, pen_idle=(5, 31),
        fan_offset=300, fan_poll=(1, 2, 4, 8), fan_rate=(0.3, 3.0),
        fork_frames=(3, 9), fork_stop=0.3,
        copy_digits=(5, 21), copy_gens=(1, 6), copy_rescan=0.2, copy_idle=(1, 7),
        lpr_frames=(2, 6), lpr_idle=(3, 21),
        bingo_retake=0.15, bingo_keep=0.5, bingo_game=(10, 31),
        demo_fix=0.3, demo_junk=0.1, demo_idle=(0, 9),
        del_dead=0.2, del_idle=(3, 13),
        pool_rank=6.0, pool_size=350),
    # "heldout15" was fixed (2026-12-02, 16:23 UTC) by an independent evaluator before any tuning of the
    # fifteenth round, together with seeds 15001, 15002, 15003, and is measured only at the end (and once
    # before, by the evaluator, with the round's starting binary): habits of real inference clients
    # that none of dev .. heldout14 model (a CI job's property-based tests with Hypothesis-style shrinking,
    # a vision-science lab running the model through adaptive contrast and noise staircases, a GAN
    # training job scoring its checkpoints' samples and fixed-noise grid, KernelSHAP explanations against
    # a k-means background, a station app reading a split-flap departure board, a webcam logging a
    # nixie-tube instrument, a river station reading a staff gauge at the waterline, a bank's cheque
    # scanner reading the MICR code line; an embedded camera's RGB565 frames and 16-level greyscale
    # number formats). See run_benign_heldout15.
    "heldout15": dict(
        personas15=(("proptest", 0.125), ("staircase", 0.125), ("gan", 0.125), ("kernelshap", 0.125),
                    ("splitflap", 0.125), ("nixie", 0.125), ("staffgauge", 0.125), ("micr", 0.125)),
        lengths=(75, 0.6, 20, 320), rgb565=0.12, gray4=0.10,
        pt_suite=(3, 6), pt_examples=(5, 10, 20), pt_strict=0.5, pt_fix=(1, 4), pt_shrink=(20, 81),
        pt_fixtures=(12, 41), pt_idle=(10, 41),
        sc_stim=(20, 41), sc_conds=(2, 5), sc_down=(2, 3), sc_reversals=(8, 13), sc_catch=0.06,
        sc_block=(30, 61), sc_break=(5, 21),
        gan_k=(8, 17), gan_T=(3.0, 10.0), gan_batches=(0, 4), gan_collapse=0.12, gan_every=(4, 21),
        ks_bg=(5, 11), ks_nsamples=(64, 128, 256), ks_super=0.5, ks_chunk=(50, 64, 100), ks_idle=(2, 11),
        sf_rows=(4, 10), sf_platforms=(4, 9, 12, 16), sf_update=(3, 13), sf_catch=0.5, sf_poll=(0, 5),
        nx_digits=(5, 9), nx_noisy=(1, 4), nx_poison=0.3, nx_idle=(0, 4),
        sg_every=(4, 8, 16), sg_rain=0.08,
        mi_payers=(3, 21), mi_batch=(5, 41), mi_amount=0.5, mi_refeed=0.03, mi_idle=(10, 41),
        pool_rank=6.0, pool_size=350),
    # "heldout16" was fixed (2026-12-03, 06:39 UTC) by an independent evaluator before any tuning of the
    # sixteenth round, together with seeds 16001, 16002, 16003, and is measured only at the end (and once
    # before, by the evaluator, with the round's starting binary): habits of real inference clients
    # that none of dev .. heldout15 model (the model owner's mobile team distilling the served model into an
    # on-device student with mixup and cutmix views, counterfactual explanations by numerical gradients, a
    # website team tuning its digit captcha's difficulty, a type foundry's legibility QA of a variable font's
    # axes, a lab robot's autofocus sweep on sample-tube labels, the owner's periodic watermark (trigger
    # set) integrity check, a web-scrape filtering job, an LED-matrix font designer's pixel editor with a live
    # preview; uniformly dequantised 8-bit values and ONNX DynamicQuantizeLinear fake-quantised number
    # formats). See run_benign_heldout16.
    "heldout16": dict(
        personas16=(("distill", 0.125), ("counterfactual", 0.125), ("captcha", 0.125), ("fontqa", 0.125),
                    ("autofocus", 0.125), ("wmverify", 0.125), ("scrape", 0.125), ("pixelfont", 0.125)),
        lengths=(75, 0.6, 20, 320), dequant=0.12, dynq=0.10,
        kd_set=(40, 151), kd_batch=(32, 64, 100), kd_mix=0.5, kd_alpha=1.0, kd_idle=(0, 3), kd_epoch_idle=(5, 21),
        cf_eps=(0.01, 0.001), cf_lambda=(0.1, 1.0), cf_lr=(0.05, 0.2), cf_iters=(10, 41), cf_target=0.5,
        cf_idle=(5, 31),
        cap_n=(20, 51), cap_batch=(10, 20, 50), cap_goal=(0.2, 0.4), cap_bisect=(2, 5), cap_idle=(10, 41),
        fq_weights=(3, 6), fq_widths=(2, 4), fq_slants=(1, 3), fq_sizes=(1, 3), fq_edit=(1, 3), fq_idle=(20, 61),
        af_label=(4, 7), af_coarse=(7, 10), af_fine=(4, 7), af_idle=(1, 5),
        wm_set=(40, 101), wm_page=(20, 50, 100), wm_golden=(5, 11), wm_every=(20, 61),
        sc_page=(50, 100), sc_shard=(5, 16), sc_idle=(0, 3), sc_shard_idle=(10, 31),
        px_level=(0.75, 1.0), px_copy=0.3, px_slip=0.08, px_tweak=(1, 6), px_idle=(3, 16),
        pool_rank=6.0, pool_size=350),
    # "heldout17" was fixed (2026-12-03, 09:30 UTC) by an independent evaluator before any tuning of the seventeenth
    # round, together with seeds 17001, 17002, 17003, and is measured only at the end (and once before, by
    # the evaluator, with the round's starting binary): habits of real inference clients that none of dev ..
    # heldout16 model (an uncertainty-under-dataset-shift benchmark sweeping rotations, translations and an
    # out-of-distribution set, an Optuna TPE study tuning a camera pipeline's parameters on a labelled set,
    # Anchors explanations whose absent superpixels come from background images, a confident-learning
    # label audit scoring a dataset in its class-sorted folder order, a black-box shift detector (BBSD)
    # comparing production windows with a reference set and re-referencing after an alert, a data
    # scientist's notebook with re-run cells and "Restart & Run All", a sports-video tracker reading
    # jersey numbers until each track is confirmed, an MLPerf LoadGen run (accuracy then performance mode,
    # samples drawn with replacement); 6-bit RGB666 framebuffer values and pngquant 16-colour palette
    # number formats). See run_benign_heldout17.
    "heldout17": dict(
        personas17=(("shiftbench", 0.125), ("pipetune", 0.125), ("anchors", 0.125), ("cleanlab", 0.125),
                    ("bbsd", 0.125), ("jupyter", 0.125), ("jersey", 0.125), ("mlperf", 0.125)),
        lengths=(75, 0.6, 20, 320), rgb666=0.12, palette16=0.10,
        sb_set=(60, 201), sb_page=(50, 100), sb_angles=(0, 181, 15), sb_shift=(1, 5), sb_ood=(40, 101),
        sb_idle=(20, 61),
        pt_set=(20, 61), pt_trials=(40, 101), pt_startup=10, pt_cands=24, pt_idle=(0, 3), pt_study_idle=(30, 81),
        an_block=((2, 2), (2, 4)), an_bg=(20, 51), an_batch=(50, 100), an_p=0.5, an_threshold=0.95,
        an_delta=0.1, an_tau=0.15, an_lucb=20, an_idle=(5, 31),
        cl_set=(150, 601), cl_noise=(0.03, 0.10), cl_page=(32, 64, 100), cl_review=(20, 61), cl_grow=(0.1, 0.3),
        bb_ref=(200, 501), bb_window=(32, 64, 100), bb_every=(8, 26), bb_onset=(2, 8), bb_p=0.05,
        ju_set=(100, 301), ju_cells=(5, 10), ju_rerun=0.2, ju_edit=0.15, ju_runall=0.05, ju_think=(1, 13),
        je_players=(3, 9), je_back=(0.3, 0.5), je_confirm=3, je_switch=0.02, je_halftime=(40, 81),
        ml_total=(100, 301), ml_perf=(16, 129), ml_batch=(32, 64, 100), ml_lambda=(0.5, 3.0), ml_idle=(10, 41),
        pool_rank=6.0, pool_size=350),
    # "heldout18" was fixed (2026-12-03, 12:32 UTC) by an independent evaluator before any tuning of the
    # eighteenth round, together with seeds 18001, 18002, 18003, and is measured only at the end (and once
    # before, by the evaluator, with the round's starting binary): habits of real inference clients that none of dev .. heldout17 model (a QA
    # team's coverage-guided fuzzing campaign (TensorFuzz), a privacy audit by the likelihood-ratio membership
    # attack (LiRA) with each target's shifted copies, a cash-centre banknote sorter reading serial numbers,
    # bundle by bundle, a client re-scoring its whole request history after a model-update notice (negative-
    # flip regression check), a chart-data extraction tool reading axis tick labels, an event (neuromorphic)
    # camera's accumulated saccade frames, a pixel-flipping evaluation of attribution maps (Quantus), a split-
    # conformal prediction service calibrating and recalibrating on labelled sets; BC4 block-compressed
    # texture and Cineon 10-bit log number formats). See run_benign_heldout18.
    "heldout18": dict(
        personas18=(("tensorfuzz", 0.125), ("lira", 0.125), ("banknote", 0.125), ("flipcheck", 0.125),
                    ("plotdigitize", 0.125), ("dvs", 0.125), ("pixelflip", 0.125), ("conformal", 0.125)),
        lengths=(75, 0.6, 20, 320), bc4=0.12, cineon=0.10,
        tf_seeds=(10, 31), tf_batch=(10, 20, 50), tf_sigma=(0.03, 0.1), tf_ball=(0.1, 0.2, 0.3), tf_recent=10,
        tf_cover=(0.3, 1.0), tf_iters=(40, 151), tf_idle=(0, 2), tf_campaign_idle=(10, 41),
        li_targets=(50, 201), li_radius=(1, 2), li_per=(1, 2, 4), li_idle=(20, 61),
        bn_digits=8, bn_bundle=100, bn_fresh=0.3, bn_refeed=0.02, bn_idle=(2, 9),
        fc_app=(0.8, (2, 5)), fc_idle=(0, 4), fc_after=(15, 41), fc_page=100,
        pd_charts=(3, 9), pd_ticks=(4, 9), pd_rot=0.25, pd_idle=(0, 3), pd_paper_idle=(5, 21),
        dv_amp=(0.8, 1.3), dv_steps=10, dv_theta=(0.15, 0.3), dv_noise=(0.005, 0.03), dv_windows=0.5,
        dv_idle=(0, 3),
        pf_batch=(8, 16, 32), pf_step=(1, 2, 4), pf_base=("black", "mean", "uniform"), pf_methods=(2, 5),
        pf_idle=(1, 6),
        cf_cal=(200, 601), cf_recal=(100, 201), cf_multi=(1, 4), cf_idle=(0, 4),
        pool_rank=6.0, pool_size=350),
    # "heldout19" was fixed (2026-12-03, 15:49 UTC) by an independent evaluator before any tuning of the
    # nineteenth round, together with seeds 19001, 19002, 19003, and is measured only at the end (and once before,
    # by the evaluator, with the round's starting binary): habits of real inference clients that none of dev ..
    # heldout18 model (a course's autograder running every student submission's pre-processing on the assignment's
    # test digits, an application screening every input with STRIP's superimposed copies, Sobol attribution
    # explanations with quasi-Monte Carlo masks (Xplique), a data scientist's scikit-learn permutation importance and
    # partial dependence / ICE over the 64 features as a table, a form-processing service whose applicants write
    # Persian digits, a dairy's parlour camera reading cattle ear tags at every milking, a subsea ROV reading marker
    # numbers through turbid water as it approaches, an optical music recognition pipeline reading time signatures
    # on the staff, fingerings and measure numbers; SZ error-bounded lossy compressed and OCP MXINT8 microscaling
    # number formats). See run_benign_heldout19.
    "heldout19": dict(
        personas19=(("autograder", 0.125), ("strip", 0.125), ("sobol", 0.125), ("tabular", 0.125),
                    ("persian", 0.125), ("eartag", 0.125), ("rov", 0.125), ("omr", 0.125)),
        lengths=(75, 0.6, 20, 320), sz=0.12, sz_eb=(1e-3, 4e-3, 1e-2), mxint8=0.10,
        ag_set=(20, 101), ag_public=(3, 7), ag_batch=(1, 10, 32, 0),
        ag_bugs=(("ok", 0.55), ("transpose", 0.10), ("invert", 0.08), ("div255", 0.08), ("fliplr", 0.05),
                 ("astype_int", 0.06), ("standardize", 0.08)),
        ag_retry=(0.6, 0.1), ag_fix=0.6, ag_idle=(0, 5), ag_run=(10, 31), ag_run_idle=(20, 61),
        st_clean=(100, 301), st_n=(10, 20, 50, 100), st_calib=(20, 51), st_idle=(0, 4),
        so_grid=(2, 4, 8), so_design=(16, 32), so_pert=("inpainting", "blurring"), so_blur=(3, 10),
        so_batch=(64, 128, 256), so_idle=(2, 11),
        tb_set=(50, 201), tb_repeats=(3, 5, 10), tb_top=(2, 7), tb_pdp_first=0.3, tb_idle=(20, 61),
        fa_persian=(0.6, 0.95), fa_field_idle=(0, 2), fa_idle=(1, 6),
        et_herd=(40, 301), et_frames=(2, 7), et_absent=0.03, et_idle=(0, 3), et_milk_idle=(20, 61),
        rv_markers=(10, 41), rv_frames=(5, 13), rv_z0=(3.0, 6.0), rv_z1=(0.8, 1.5), rv_beta=(0.15, 0.8),
        rv_binf=(0.15, 0.35), rv_snow=(0.5, 3.0), rv_growth=0.5, rv_idle=(5, 21), rv_dive_idle=(30, 81),
        om_systems=(4, 11), om_pages=(1, 9), om_measures=(3, 7), om_fingers=(0, 13), om_tuplets=(0, 5),
        om_change=0.1, om_idle=(0, 3), om_page_idle=(5, 21), om_piece_idle=(20, 61),
        pool_rank=6.0, pool_size=350),
    # "heldout20" was fixed (2026-12-03, 18:29 UTC) by an independent evaluator before any tuning of the twentieth round,
    # together with seeds 20001, 20002, 20003, and is measured only at the end (and once before, by the evaluator,
    # with the round's starting binary): habits of real inference clients that none of dev .. heldout19 model
    # (prediction difference analysis explanations with conditional sampling of every window, a nightly Spark batch
    # job with interleaved tasks, speculative copies of stragglers and retried task attempts, a crowd worker on an
    # adversarial data-collection task (Dynabench) editing a digit until the model misreads it, a genealogy archive
    # reading dates in historical Swedish parish records (ARDIS), digits written in the air with a fingertip and
    # their connecting motions, a tyre shop reading DOT date codes moulded into sidewalls, a registry office reading
    # rubber date stamps as the ink pad dries, a clinic's handwriting assessment with tremor and micrographia;
    # JPEG 2000 lossy and JPEG-LS near-lossless number formats). See run_benign_heldout20.
    "heldout20": dict(
        personas20=(("preddiff", 0.125), ("spark", 0.125), ("dynabench", 0.125), ("churchbook", 0.125),
                    ("airwrite", 0.125), ("tyredot", 0.125), ("datestamp", 0.125), ("tremor", 0.125)),
        lengths=(75, 0.6, 20, 320), jp2=0.12, jp2_step=(2.0, 4.0, 8.0), jpegls=0.10, jpegls_near=(1, 2, 3),
        pd_set=(100, 301), pd_win=(2, 3, 4), pd_pad=1, pd_samples=10, pd_marginal=0.3, pd_batch=(64, 128, 256),
        pd_idle=(2, 11),
        sp_parts=(4, 13), sp_part=(20, 121), sp_batch=(16, 32, 64), sp_slots=(2, 5), sp_slow=0.1, sp_quantile=0.75,
        sp_fail=0.01, sp_idle=(40, 101), sp_backfill=0.1,
        db_tries=(3, 11), db_idle=(1, 5), db_task_idle=(3, 11),
        cb_years=(1, 4), cb_page=(10, 26), cb_idle=(0, 3), cb_page_idle=(3, 9), cb_book_idle=(20, 61),
        aw_lead=(0.0, 0.3), aw_len=(2, 7), aw_whole=0.3, aw_idle=(0, 2), aw_num_idle=(3, 16),
        td_spare=0.1, td_shots=3, td_brands=(2, 5), td_idle=(1, 4), td_car_idle=(10, 41),
        ds_reink=(30, 81), ds_day=(5, 41), ds_idle=(0, 4), ds_day_idle=(20, 51),
        tr_amp=(0.0, 0.06), tr_micro=(0.01, 0.03), tr_rounds=(1, 4), tr_idle=(0, 2), tr_patient_idle=(10, 31),
        pool_rank=6.0, pool_size=350),
    # "heldout21" was fixed (2026-12-03, 23:06 UTC) by an independent evaluator before any tuning of the
    # twenty-first round, together with seeds 21001, 21002, 21003, and is measured only at the end (and once before,
    # by the evaluator, with the round's starting binary): habits of real inference clients that none of dev ..
    # heldout20 model (a golf club's handicap office scanning competition scorecards, circled birdies and boxed bogeys,
    # re-scanned when the totals do not add up, a track-recording train reading kilometre posts through a rolling-
    # shutter camera, test-time marginal predictions over AugMix views (MEMO), a dashcam's traffic-sign assistant
    # reading speed-limit digits along each sign's track, an app reading analog clock dials whose numerals may be
    # radial, a scikit-learn GridSearchCV whose pipeline calls the model in every fold of every candidate, an esports
    # overlay reading a shooter's HUD counters, Growing Spheres counterfactual explanations; H.264 intra and zfp
    # fixed-precision number formats). See run_benign_heldout21.
    "heldout21": dict(
        personas21=(("golfcard", 0.125), ("railpost", 0.125), ("augmix", 0.125), ("speedsign", 0.125),
                    ("clockface", 0.125), ("gridsearch", 0.125), ("gamehud", 0.125), ("growsphere", 0.125)),
        lengths=(75, 0.6, 20, 320), h264=0.12, h264_qp=(22, 26, 30, 34), zfp=0.10, zfp_prec=(8, 10, 12),
        gc_cards=(20, 61), gc_players=(1, 5), gc_notation=0.5, gc_rescan=1, gc_idle=(0, 3), gc_card_idle=(1, 5),
        gc_comp_idle=(30, 81),
        rp_posts=(15, 61), rp_frames=(3, 7), rp_speed=(60.0, 160.0), rp_jello=(0.0, 0.8), rp_idle=(3, 11),
        rp_run_idle=(40, 101),
        am_copies=(8, 16, 32), am_width=3, am_depth=(1, 4), am_idle=(0, 4),
        ss_values=(20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130), ss_frames=(8, 31), ss_every=(1, 2, 3),
        ss_idle=(20, 121),
        cf_radial=0.4, cf_retake=0.2, cf_idle=(2, 11),
        gs_set=(100, 301), gs_folds=(3, 5), gs_cands=(4, 13), gs_batch=(32, 64, 128, 0), gs_idle=(20, 61),
        gh_mags=(30, 25, 20, 12, 8), gh_every=(1, 2, 3), gh_match=(60, 241), gh_match_idle=(20, 61),
        gr_n=(100, 200, 500), gr_eta=(0.1, 0.2, 0.5), gr_idle=(2, 9),
        pool_rank=6.0, pool_size=350),
    # "heldout22" was fixed (2026-12-04, 02:23 UTC) by an independent evaluator before any tuning of the
    # twenty-second round, together with seeds 22001, 22002, 22003, and is measured only at the end (and once before,
    # by the evaluator, with the round's starting binary): habits of real inference clients that none of dev ..
    # heldout21 model (Shapley value sampling explanations as Captum runs them, permutation by permutation, LORE
    # explanations with their genetic neighbourhoods, the model owner's B3D backdoor audit reverse-engineering a
    # trigger for each class by NES, a batch job whose DataLoader workers each replay the unsharded dataset, a
    # library's shelf-reading app reading call numbers on book spines, a car park's ceiling fisheye cameras reading
    # painted bay numbers, a phone app's crop box dragged around a photographed digit, an engineer trying the API from
    # its Swagger UI page; NetCDF bit-groomed and 8-bit posit number formats). See run_benign_heldout22.
    "heldout22": dict(
        personas22=(("permshap", 0.125), ("lore", 0.125), ("b3d", 0.125), ("dupworkers", 0.125),
                    ("spine", 0.125), ("fisheye", 0.125), ("cropdrag", 0.125), ("swagger", 0.125)),
        lengths=(75, 0.6, 20, 320), bitgroom=0.12, bg_nsd=(2, 3), posit=0.10, posit_es=(0, 1),
        ps_samples=(10, 25), ps_ppe=(1, 16, 64), ps_idle=(2, 11),
        lo_pop=(100, 200), lo_gens=(3, 7), lo_idle=(2, 9),
        bd_set=(10, 20), bd_k=10, bd_iters=10, bd_idle=(5, 21),
        dw_set=(100, 401), dw_workers=(2, 4), dw_batch=(16, 32, 64), dw_idle=(40, 101),
        sp_vertical=0.5, sp_flip=0.1, sp_idle=(1, 5), sp_shelf_idle=(10, 31),
        fe_bays=(6, 13), fe_every=(10, 31),
        cd_drags=(3, 9), cd_idle=(3, 16),
        sw_edit=(1, 9), sw_idle=(1, 11),
        pool_rank=6.0, pool_size=350),
    # "heldout23" was fixed (2026-12-04, 12:00 UTC) by an independent evaluator before any tuning of the twenty-third
    # round, together with seeds 23001, 23002, 23003, and is measured only at the end (and once before, by the
    # evaluator, with the round's starting binary): habits of real inference clients that none of dev .. heldout22
    # model (RISE explanations with their random upsampled masks, an ImageNet-P-style audit of flip rates along
    # perturbation sequences, a virtual-tabletop app reading ten-sided dice in a webcam tray as they roll and settle, a
    # bird-ringing resighting app reading engraved leg-ring codes from digiscoped bursts, an instant-lottery checker
    # following a scratch-off ticket as it is scratched, a tele-ICU camera reading a bedside monitor's vital signs, a
    # pill identifier reading debossed imprints, photo-finish software reading hip numbers from a line-scan camera;
    # 10-bit HLG camera and Microsoft floating point (MSFP) block number formats). See run_benign_heldout23.
    "heldout23": dict(
        personas23=(("rise", 0.125), ("imagenetp", 0.125), ("dice", 0.125), ("birdring", 0.125),
                    ("scratchcard", 0.125), ("icumonitor", 0.125), ("pillid", 0.125), ("photofinish", 0.125)),
        lengths=(75, 0.6, 20, 320), hlg=0.12, msfp=0.10, msfp_mant=(3, 7),
        ri_masks=(250, 500, 1000), ri_grid=(2, 3, 4), ri_batch=(50, 100), ri_idle=(2, 11),
        ip_frames=30, ip_sev=(1, 2, 3, 4, 5), ip_batch=(10, 30), ip_idle=(0, 4), ip_type_idle=(20, 61),
        dc_dice=(1, 2, 3, 4), dc_tumble=(2, 6), dc_idle=(0, 2), dc_roll_idle=(5, 31),
        br_len=(3, 4), br_burst=(3, 9), br_idle=(0, 3), br_bird_idle=(10, 41),
        sc_nums=(3, 9), sc_idle=(0, 3), sc_ticket_idle=(20, 61),
        im_every=(5, 21),
        pl_retake=0.7, pl_idle=(3, 16),
        pf_field=(6, 11), pf_reread=0.15, pf_idle=(0, 3), pf_heat_idle=(20, 61),
        pool_rank=6.0, pool_size=350),
}
HAB = HABITS["dev"]
# The augmentation kinds in the order a draw tries them.
AUGMENTS = ("shift1", "bright", "shift2", "erase", "rotate", "blur", "contrast", "crop")


def session_requests(rng):
    if "lengths" in HAB:
        med, sigma, lo, hi = HAB["lengths"]
        return int(np.clip(round(med * np.exp(rng.normal(0.0, sigma))), lo, hi))
    return int(rng.integers(*HAB["requests"]))


def mean_requests():
    if "lengths" in HAB:
        r = np.random.default_rng(0)
        return float(np.mean([session_requests(r) for _ in range(4000)]))
    return float(np.mean(HAB["requests"]) - 0.5)


def augmentation(kind, x, rng):
    """One augmentation of an 8x8 digit (values in [0, 1])."""
    if kind == "shift1":
        return shift(x, rng)                                           # one-pixel shift
    if kind == "bright":
        lo, hi = HAB.get("bright_range", (0.8, 1.2))
        return np.clip(x * rng.uniform(lo, hi), 0, 1).astype(np.float32)
    if kind == "shift2":
        return shift(shift(x, rng), rng)                               # two one-pixel shifts
    if kind == "erase":                                                # a 2x2 patch erased
        a = x.reshape(SIDE, SIDE).copy()
        i, j = rng.integers(0, SIDE - 1, size=2)
        a[i:i + 2, j:j + 2] = 0.0
        return a.reshape(D)
    if kind == "rotate":                                               # +-4..12 degrees
        from scipy.ndimage import rotate
        ang = rng.uniform(4, 12) * rng.choice([-1, 1])
        a = rotate(x.reshape(SIDE, SIDE), ang, reshape=False, order=1, mode="constant")
        return np.clip(a.reshape(D), 0, 1).astype(np.float32)
    if kind == "blur":                                                 # Gaussian blur
        from scipy.ndimage import gaussian_filter
        a = gaussian_filter(x.reshape(SIDE, SIDE), sigma=rng.uniform(0.35, 0.7))
        return np.clip(a.reshape(D), 0, 1).astype(np.float32)
    if kind == "contrast":                                             # around the image mean
        m = float(x.mean())
        return np.clip((x - m) * rng.uniform(0.7, 1.3) + m, 0, 1).astype(np.float32)
    if kind == "crop":                                                 # crop, resize back to 8x8
        c = int(rng.integers(6, 8))
        i, j = rng.integers(0, SIDE - c + 1, size=2)
        return crop_resize(x, c, int(i), int(j))
    raise ValueError(kind)


def crop_resize(x, c, i, j):
    """The c x c window at (i, j) of an 8x8 digit, resized back to 8x8 (bilinear), as the
    crop-and-resize step of a preprocessing or TTA pipeline."""
    from scipy.ndimage import zoom
    a = x.reshape(SIDE, SIDE)[i:i + c, j:j + c]
    z = zoom(a, SIDE / c, order=1, mode="nearest", grid_mode=True)[:SIDE, :SIDE]
    return np.clip(z.reshape(D), 0, 1).astype(np.float32)


def tta_transforms(rng, k):
    """A TTA pipeline's fixed list of k transforms (the identity first), drawn once per client:
    each is a function of the image alone, with parameters fixed at the client's start, as in a
    deployed TTA (center / corner crops resized back, shifts, brightness, contrast, small rotation,
    blur)."""
    out = [lambda x: x]
    menu = ["crop_center", "crop_corner", "shift", "bright", "contrast", "rotate", "blur"]
    for name in rng.permutation(menu)[:k - 1]:
        if name == "crop_center":
            c = int(rng.integers(6, 8))
            o = (SIDE - c) // 2
            out.append(lambda x, c=c, o=o: crop_resize(x, c, o, o))
        elif name == "crop_corner":
            c = 7
            i, j = (int(v) for v in rng.integers(0, 2, size=2))
            out.append(lambda x, c=c, i=i, j=j: crop_resize(x, c, i, j))
        elif name == "shift":
            ax, d = int(rng.integers(2)), int(rng.choice([-1, 1]))

            def sh(x, ax=ax, d=d):
                a = np.roll(x.reshape(SIDE, SIDE), d, axis=ax)
                if ax == 0:
                    a[0 if d > 0 else -1, :] = 0
                else:
                    a[:, 0 if d > 0 else -1] = 0
                return a.reshape(D)
            out.append(sh)
        elif name == "bright":
            f = float(rng.choice([0.85, 0.9, 1.1, 1.15]))
            out.append(lambda x, f=f: np.clip(x * f, 0, 1).astype(np.float32))
        elif name == "contrast":
            f = float(rng.choice([0.8, 0.9, 1.1, 1.2]))
            out.append(lambda x, f=f: np.clip((x - x.mean()) * f + x.mean(), 0, 1).astype(np.float32))
        elif name == "rotate":
            ang = float(rng.choice([-8.0, -5.0, 5.0, 8.0]))

            def rot(x, ang=ang):
                from scipy.ndimage import rotate
                a = rotate(x.reshape(SIDE, SIDE), ang, reshape=False, order=1, mode="constant")
                return np.clip(a.reshape(D), 0, 1).astype(np.float32)
            out.append(rot)
        else:
            sg = float(rng.choice([0.4, 0.5, 0.6]))

            def bl(x, sg=sg):
                from scipy.ndimage import gaussian_filter
                return np.clip(gaussian_filter(x.reshape(SIDE, SIDE), sigma=sg).reshape(D), 0, 1).astype(np.float32)
            out.append(bl)
    return out


def pick(rng, choices):
    """One of ((value, probability), ...)."""
    vals = [v for v, _ in choices]
    p = np.asarray([q for _, q in choices], float)
    return vals[int(rng.choice(len(vals), p=p / p.sum()))]


def run_benign(h, baton, s, pool, counts):
    """A client with the habits of real traffic: mostly images from its pool (as they are), some
    re-sends of its own earlier rows, sensor noise, augmentations of its images (one-pixel shifts,
    and with other habits brightness, two-pixel shifts, erased patches, rotations, blur,
    contrast), batches."""
    rng = s.rng
    n_req = session_requests(rng)
    weights = s.meta.pop("weights")
    sent = []
    p_noise, sigma = HAB["noise"]

    def row():
        u = rng.random()
        if u < HAB["resend"] and sent:
            return sent[int(rng.integers(len(sent)))].copy()          # re-send
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        x = pool[i]
        u -= HAB["resend"]
        if u < p_noise:
            return np.clip(x + rng.normal(0, sigma, D), 0, 1).astype(np.float32)  # noise
        u -= p_noise
        for kind in AUGMENTS:
            p = HAB.get(kind, 0.0)
            if u < p:
                return augmentation(kind, x, rng)
            u -= p
        return x

    for _ in range(n_req):
        n = int(rng.integers(*HAB["batch"])) if rng.random() < HAB["batch_p"] else 1
        rows = np.stack([row() for _ in range(n)])
        sent.extend(rows)
        try:
            query(h, baton, s, rows, scores=True)
        except Refused:
            pass   # a benign client whose request is refused carries on


def run_benign_personas(h, baton, s, pool, weights, counts, shared):
    """Benign clients with the habits of real inference clients (habits with `personas`). Each
    client draws, from its own seeded generator:
      a persona    plain: images from its pool (popularity-weighted), some re-sent, some with
                     sensor noise, brightness, contrast or a crop-and-resize;
                   scan: a dataset scan: the pool in order from a random offset, as it is, in
                     batches of the client's size, wrapping round (another epoch) if it runs out;
                   tta: test-time augmentation: each image sent with the client's fixed list of
                     `tta` (lo, hi) transforms (identity first), as one batch (`tta_batch`) or
                     as consecutive single-row requests;
                   ambiguous: half its images (`ambiguous_share`) drawn from the pool's
                     `ambiguous_frac` lowest-margin images (top-two probability gap of the served
                     model), each re-sent `ambiguous_resends` (lo, hi) times in a row with small
                     variations (a user re-taking the photo), the rest as plain;
                   bursty: bursts of `burst` (lo, hi) requests back to back (the baton held), then
                     `idle` (lo, hi) turns of the round-robin sending nothing; some requests
                     double-submitted (`double_submit`).
      a length     log-normal `lengths`; a share `long` (p, lo, hi) of clients run very long
                   sessions instead (uniform lo-hi requests);
      a batch      single (always 1 row), mixed (`mixed_batches`: sizes 1 .. 64 by weight) or
      profile      fixed (a data loader's batch of one of `fixed_batch`);
      health       every client sends a warm-up payload `warmup` (lo, hi) times at its start and
      checks       again every `health_every` (one of) of its requests: all zeros (a share
                   `health_zeros`, as Triton's zero_data warm-up) or one fixed sample digit (the
                   same for every client, shared or private, as a documentation example);
      retries      any request re-sent as it was right after it with probability `retry` (a
                   client that timed out).
    Every client paces requests and rows under the server's default limits (80 req/s, 800
    rows/s). `shared`: the pool is the shared one (its popularity counts are kept)."""
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas"])
    n_req = session_requests(rng)
    p_long, lo_long, hi_long = HAB["long"]
    if rng.random() < p_long:
        n_req = int(rng.integers(lo_long, hi_long + 1))
    profile = pick(rng, HAB["batch_profiles"])
    fixed_k = int(rng.choice(HAB["fixed_batch"]))
    every = int(rng.choice(HAB["health_every"]))
    health = np.zeros(D, np.float32) if rng.random() < HAB["health_zeros"] else s.meta["health_sample"]
    warm = int(rng.integers(*HAB["warmup"]))
    tta = tta_transforms(rng, int(rng.integers(*HAB["tta"])))
    scan_at = int(rng.integers(len(pool)))
    s.meta.update(persona=persona, planned_requests=n_req, batch_profile=profile,
                  health_every=every, health_zeros=int(not health.any()), tta_k=len(tta))
    ambiguous = s.meta.get("ambiguous")
    p_noise, sigma = HAB["noise"]
    sent = []
    done = [0]          # requests sent (health checks and retries included)

    def batch_size():
        if profile == "single":
            return 1
        if profile == "fixed":
            return fixed_k
        b = pick(rng, HAB["mixed_batches"])
        return int(rng.integers(*b)) if isinstance(b, tuple) else int(b)

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def plain_row():
        u = rng.random()
        if u < HAB["resend"] and sent:
            return sent[int(rng.integers(len(sent)))].copy()
        x = draw()
        u = rng.random()
        if u < p_noise:
            return np.clip(x + rng.normal(0, sigma, D), 0, 1).astype(np.float32)
        u -= p_noise
        for kind in ("bright", "contrast", "crop"):
            if u < HAB[kind]:
                return augmentation(kind, x, rng)
            u -= HAB[kind]
        return x

    def small_variation(x):
        k = int(rng.integers(4))
        if k == 0:
            return np.clip(x + rng.normal(0, 0.03, D), 0, 1).astype(np.float32)
        if k == 1:
            return np.clip(x * rng.uniform(0.9, 1.1), 0, 1).astype(np.float32)
        if k == 2:
            return shift(x, rng)
        m = float(x.mean())
        return np.clip((x - m) * rng.uniform(0.85, 1.15) + m, 0, 1).astype(np.float32)

    own = [0]           # the client's own requests (not health checks, not retries)

    def post_one(rows, hold):
        try:
            query(h, baton, s, rows, scores=True, hold=hold)
        except Refused:
            pass   # a benign client whose request is refused carries on
        done[0] += 1

    def send(rows, hold=False):
        rows = np.asarray(rows, np.float32).reshape(-1, D)
        post_one(rows, hold)
        own[0] += 1
        sent.extend(rows)
        if done[0] < n_req and rng.random() < HAB["retry"]:
            post_one(rows, hold)
        if own[0] % every == 0 and done[0] < n_req:
            post_one(health[None], hold)

    def units():
        """The persona's next requests (a list of row arrays)."""
        nonlocal scan_at
        if persona == "scan":
            b = batch_size()
            idx = [(scan_at + j) % len(pool) for j in range(b)]
            scan_at = (scan_at + b) % len(pool)
            for i in idx:
                counts[i] += 1
            return [pool[idx]]
        if persona == "tta":
            x = draw()
            rows = np.stack([f(x) for f in tta])
            return [rows] if rng.random() < HAB["tta_batch"] else [r[None] for r in rows]
        if persona == "ambiguous" and ambiguous is not None and rng.random() < HAB["ambiguous_share"]:
            i = int(rng.choice(ambiguous))
            counts[i] += 1
            x = pool[i]
            n = int(rng.integers(*HAB["ambiguous_resends"]))
            return [x[None]] + [small_variation(x)[None] for _ in range(n - 1)]
        return [np.stack([plain_row() for _ in range(batch_size())])]

    for _ in range(warm):
        post_one(health[None], False)
    while done[0] < n_req:
        if persona == "bursty":
            n = int(rng.integers(*HAB["burst"]))
            k = 0
            while k < n and done[0] < n_req:
                for rows in units():
                    send(rows, hold=True)
                    if rng.random() < HAB["double_submit"]:
                        send(rows, hold=True)
                k += 1
            baton.pass_on(s)
            for _ in range(int(rng.integers(*HAB["idle"]))):
                baton.pass_on(s)
            continue
        for rows in units():
            send(rows)
            if done[0] >= n_req:
                break


# ---------------------------------------------------------------------------------------------
# Held out 4: benign clients with habits none of dev .. heldout3 model (run_benign_heldout4).
_JPEG_LUMA = np.array([[16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55],
                       [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
                       [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
                       [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]], float)


def quant8(x):
    """An image stored as 8-bit (PNG) and read back."""
    return (np.round(np.clip(x, 0, 1) * 255.0) / 255.0).astype(np.float32)


def jpeg_like(x, quality):
    """An 8x8 digit through baseline JPEG's luminance path (it is exactly one JPEG block): level
    shift, 2-D DCT, the standard luminance table scaled for `quality` (libjpeg's formula),
    rounding, inverse, 8-bit."""
    from scipy.fft import dctn, idctn
    sc = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    T = np.clip(np.floor((_JPEG_LUMA * sc + 50.0) / 100.0), 1, 255)
    c = dctn(x.reshape(SIDE, SIDE) * 255.0 - 128.0, norm="ortho")
    a = idctn(np.round(c / T) * T, norm="ortho") + 128.0
    return (np.clip(np.round(a), 0, 255) / 255.0).reshape(D).astype(np.float32)


def gamma(x, g):
    return np.clip(np.clip(x, 0, 1) ** g, 0, 1).astype(np.float32)


def ab_preprocess(name):
    """An A/B client's fixed pre-processing (the 'B' it compares with the raw 'A')."""
    if name == "gamma":
        return lambda x: gamma(x, 0.7)
    if name == "equalise":                     # histogram equalisation (OpenCV's equalizeHist)
        def eq(x):
            q = np.round(np.clip(x, 0, 1) * 255).astype(np.int64)
            cdf = np.cumsum(np.bincount(q, minlength=256))
            lo = cdf[cdf > 0][0]
            return (np.round((cdf[q] - lo) / max(len(q) - lo, 1) * 255) / 255).astype(np.float32)
        return eq
    if name == "sharpen":                      # unsharp mask, amount 0.8
        def sh(x):
            from scipy.ndimage import gaussian_filter
            a = x.reshape(SIDE, SIDE)
            return np.clip(a + 0.8 * (a - gaussian_filter(a, 0.8)), 0, 1).reshape(D).astype(np.float32)
        return sh
    return lambda x: (x >= 0.5).astype(np.float32)   # binarise (a fixed threshold)


def tta2_transforms(rng, k):
    """A TTA pipeline's fixed list of k transforms (identity first) from a menu heldout3's TTA
    does not use: horizontal flip, gamma 0.8 / 1.25, zoom-out (the digit shrunk to 6x6 or 7x7 and
    padded), sharpening, a 3x3 cutout at a fixed place, rotation by +-2-3 degrees."""
    from scipy.ndimage import rotate, zoom
    out = [lambda x: x]
    for name in rng.permutation(["hflip", "gamma", "zoomout", "sharpen", "cutout", "rot"])[:k - 1]:
        if name == "hflip":
            out.append(lambda x: x.reshape(SIDE, SIDE)[:, ::-1].reshape(D).copy())
        elif name == "gamma":
            g = float(rng.choice([0.8, 1.25]))
            out.append(lambda x, g=g: gamma(x, g))
        elif name == "zoomout":
            c = int(rng.integers(6, 8))

            def zo(x, c=c):
                a = np.zeros((SIDE, SIDE), np.float32)
                z = zoom(x.reshape(SIDE, SIDE), c / SIDE, order=1, grid_mode=True, mode="nearest")[:c, :c]
                o = (SIDE - c) // 2
                a[o:o + z.shape[0], o:o + z.shape[1]] = z
                return np.clip(a.reshape(D), 0, 1)
            out.append(zo)
        elif name == "sharpen":
            out.append(ab_preprocess("sharpen"))
        elif name == "cutout":
            i, j = (int(v) for v in rng.integers(0, SIDE - 2, size=2))

            def co(x, i=i, j=j):
                a = x.reshape(SIDE, SIDE).copy()
                a[i:i + 3, j:j + 3] = 0.0
                return a.reshape(D)
            out.append(co)
        else:
            ang = float(rng.choice([-3.0, -2.0, 2.0, 3.0]))
            out.append(lambda x, ang=ang: np.clip(rotate(x.reshape(SIDE, SIDE), ang, reshape=False, order=1,
                                                         mode="constant").reshape(D), 0, 1).astype(np.float32))
    return out


def run_benign_heldout4(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout4`. Each client draws from its own seeded generator:
      a persona   video: consecutive frames of a camera pointed at a digit: each frame the
                    image moves by a sub-pixel random walk (N(0, `video_step_px`) px a frame,
                    bilinear, at most 1 px), its gain drifts (N(0, `video_gain_step`), 0.85-1.15)
                    and it has N(0, `video_noise`) sensor noise; a new digit (scene change) every
                    `video_scene` (lo, hi) frames; frames one a request, or with `batch_p` a batch
                    of `video_batch` consecutive frames;
                  reencode: pool images as they are, each through a JPEG-like re-encoding at the
                    client's quality (`jpeg_quality` lo-hi), some re-sent (`resend`);
                  slider: a data-labelling tool: one image sent `slider_requests` (lo, hi) times
                    while a human drags a brightness, contrast or gamma slider in steps of
                    `slider_step` (lo, hi) towards a target, each position sent, the final one
                    sent again when saved;
                  ab: A/B comparison: each image sent raw and with the client's fixed
                    pre-processing (gamma 0.7, histogram equalisation, unsharp mask, or binarised at
                    0.5), as one 2-row batch (`ab_batch`) or as two consecutive requests;
                  tiles: sliding 8x8 windows (stride `tile_stride`, one of) over a strip of two
                    pool digits side by side (8x16) or, with `tile_mosaic`, a 2x2 mosaic of four
                    (16x16), all windows of one strip / mosaic in one batch;
                  backoff: pool images as they are; a share `backoff_fail` of requests is retried
                    `backoff_tries` (lo, hi) times with exponential backoff (1, 2, 4, 8 ... turns of
                    the round-robin idle before each retry), the same payload each time;
                  popular: a favourite image (drawn once from the pool by popularity) makes a
                    share `popular_share` (lo-hi) of its rows, the rest plain;
                  tta2: test-time augmentation with `tta2` (lo, hi) transforms from a menu that
                    heldout3's TTA does not use (tta2_transforms), as one batch (`tta2_batch`) or
                    consecutive single-row requests;
      plain rows  (reencode, backoff, popular's rest) pool images by popularity, with `batch_p`
                  a batch of `batch` (lo, hi) rows, `resend` re-sends of the client's own rows;
      8-bit       a share `quant8` of clients store every image as 8-bit before sending (all
                  their rows, whatever the persona);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests, retries included.
    Rows are real digits of the client's pool and transforms of them. Every client paces
    requests and rows under the server's default limits (80 req/s, 800 rows/s)."""
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas4"])
    n_req = session_requests(rng)
    q8 = rng.random() < HAB["quant8"]
    quality = int(rng.integers(*HAB["jpeg_quality"]))
    ab = str(rng.choice(["gamma", "equalise", "sharpen", "binarise"]))
    stride = int(rng.choice(HAB["tile_stride"]))
    fav_share = float(rng.uniform(*HAB["popular_share"]))
    tta = tta2_transforms(rng, int(rng.integers(*HAB["tta2"])))
    s.meta.update(persona=persona, planned_requests=n_req, quant8=int(q8), jpeg_quality=quality,
                  ab=ab, tile_stride=stride, tta_k=len(tta))
    sent = []
    done = [0]

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    fav = draw() if persona == "popular" else None

    def plain_rows():
        n = int(rng.integers(*HAB["batch"])) if rng.random() < HAB["batch_p"] else 1
        out = []
        for _ in range(n):
            if sent and rng.random() < HAB["resend"]:
                out.append(sent[int(rng.integers(len(sent)))].copy())
            elif fav is not None and rng.random() < fav_share:
                out.append(fav)
            else:
                x = draw()
                out.append(jpeg_like(x, quality) if persona == "reencode" else x)
        return np.stack(out)

    def send(rows):
        rows = np.asarray(rows, np.float32).reshape(-1, D)
        if q8:
            rows = quant8(rows)
        try:
            query(h, baton, s, rows, scores=True)
        except Refused:
            pass   # a benign client whose request is refused carries on
        done[0] += 1
        sent.extend(rows)

    def idle(turns):
        for _ in range(turns):
            baton.pass_on(s)

    def video():
        from scipy.ndimage import shift as subpixel
        x, off, g = draw(), np.zeros(2), 1.0
        for _ in range(int(rng.integers(*HAB["video_scene"]))):
            k = int(rng.integers(*HAB["video_batch"])) if rng.random() < HAB["batch_p"] else 1
            frames = []
            for _ in range(k):
                off = np.clip(off + rng.normal(0, HAB["video_step_px"], 2), -1.0, 1.0)
                g = float(np.clip(g + rng.normal(0, HAB["video_gain_step"]), 0.85, 1.15))
                a = subpixel(x.reshape(SIDE, SIDE), off, order=1, mode="constant").reshape(D)
                frames.append(np.clip(a * g + rng.normal(0, HAB["video_noise"], D), 0, 1))
            yield np.stack(frames)

    def slider():
        x = draw()
        knob = str(rng.choice(["bright", "contrast", "gamma"]))
        v, target = 1.0, 1.0
        lo, hi = {"bright": (0.6, 1.4), "contrast": (0.5, 1.5), "gamma": (0.5, 2.0)}[knob]
        n = int(rng.integers(*HAB["slider_requests"]))
        for k in range(n):
            if abs(target - v) < 1e-9:
                target = float(rng.uniform(lo, hi))          # the human grabs the slider again
            step = float(rng.uniform(*HAB["slider_step"]))
            v = target if abs(target - v) <= step else v + step * np.sign(target - v)
            if knob == "bright":
                y = np.clip(x * v, 0, 1)
            elif knob == "contrast":
                y = np.clip((x - x.mean()) * v + x.mean(), 0, 1)
            else:
                y = gamma(x, v)
            yield y[None]
            if k == n - 1:
                yield y[None]                                # saved: the final setting again

    def tiles():
        if rng.random() < HAB["tile_mosaic"]:
            a = np.block([[draw().reshape(SIDE, SIDE), draw().reshape(SIDE, SIDE)],
                          [draw().reshape(SIDE, SIDE), draw().reshape(SIDE, SIDE)]])
        else:
            a = np.hstack([draw().reshape(SIDE, SIDE), draw().reshape(SIDE, SIDE)])
        win = [a[i:i + SIDE, j:j + SIDE].reshape(D) for i in range(0, a.shape[0] - SIDE + 1, stride)
               for j in range(0, a.shape[1] - SIDE + 1, stride)]
        yield np.stack(win)

    def units():
        if persona == "video":
            return video()
        if persona == "slider":
            return slider()
        if persona == "tiles":
            return tiles()
        if persona == "ab":
            x = draw()
            pair = np.stack([x, ab_preprocess(ab)(x)])
            return iter([pair] if rng.random() < HAB["ab_batch"] else [pair[:1], pair[1:]])
        if persona == "tta2":
            x = draw()
            rows = np.stack([f(x) for f in tta])
            return iter([rows] if rng.random() < HAB["tta2_batch"] else [r[None] for r in rows])
        return iter([plain_rows()])

    while done[0] < n_req:
        for rows in units():
            send(rows)
            if persona == "backoff" and rng.random() < HAB["backoff_fail"]:
                for t in range(int(rng.integers(*HAB["backoff_tries"]))):
                    if done[0] >= n_req:
                        break
                    idle(2 ** t)
                    send(rows)
            if done[0] >= n_req:
                break


# ---------------------------------------------------------------------------------------------
# Held out 5: benign clients with habits none of dev .. heldout4 model (run_benign_heldout5).
def page_skew(x, angle_deg, shear):
    """A scanned page's skew (rotation by `angle_deg`) and shear, about the digit's centre,
    bilinear, as a form reader's field crop of a page that went through the scanner askew."""
    from scipy.ndimage import affine_transform
    t = np.deg2rad(angle_deg)
    M = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) @ np.array([[1.0, shear], [0.0, 1.0]])
    c = np.full(2, (SIDE - 1) / 2.0)
    a = affine_transform(x.reshape(SIDE, SIDE), M, offset=c - M @ c, order=1, mode="constant")
    return np.clip(a.reshape(D), 0, 1).astype(np.float32)


def pen_width(x, kind):
    """The pen (or the scanner's threshold) makes strokes bolder or thinner: half the image's
    grey dilation / erosion (2x2) blended in."""
    from scipy.ndimage import grey_dilation, grey_erosion
    a = x.reshape(SIDE, SIDE)
    if kind == "bold":
        a = 0.5 * a + 0.5 * grey_dilation(a, size=(2, 2))
    elif kind == "thin":
        a = 0.5 * a + 0.5 * grey_erosion(a, size=(2, 2))
    return np.clip(a.reshape(D), 0, 1).astype(np.float32)


def levels(x, black, white):
    """A scanner's black / white point (levels) correction."""
    return np.clip((x - black) / (white - black), 0, 1).astype(np.float32)


def pen_path(x):
    """The order a pen visits the digit's inked pixels (> 0.05): greedy nearest neighbour from
    the top-most (then left-most) inked pixel. Flat indices."""
    a = x.reshape(SIDE, SIDE)
    ink = [(i, j) for i in range(SIDE) for j in range(SIDE) if a[i, j] > 0.05]
    if not ink:
        return []
    path = [min(ink)]
    rest = set(ink) - {path[0]}
    while rest:
        i, j = path[-1]
        nxt = min(rest, key=lambda p: ((p[0] - i) ** 2 + (p[1] - j) ** 2, p))
        path.append(nxt)
        rest.remove(nxt)
    return [i * SIDE + j for i, j in path]


# JPEG's zig-zag order of the 8x8 DCT coefficients (flat indices).
_ZIGZAG = sorted(range(D), key=lambda k: (k // SIDE + k % SIDE,
                                          k // SIDE if (k // SIDE + k % SIDE) % 2 else -(k // SIDE)))


def dct_first(x, k):
    """The image from its first k zig-zag DCT coefficients (a progressive JPEG's spectral
    selection scan), 8-bit."""
    from scipy.fft import dctn, idctn
    c = dctn(x.reshape(SIDE, SIDE), norm="ortho").reshape(D)
    keep = np.zeros(D)
    keep[_ZIGZAG[:k]] = c[_ZIGZAG[:k]]
    a = idctn(keep.reshape(SIDE, SIDE), norm="ortho")
    return quant8(a.reshape(D))


def block_mean(x, b):
    """The image as b x b blocks of their mean (a coarse preview of a progressive load)."""
    a = x.reshape(SIDE // b, b, SIDE // b, b).mean(axis=(1, 3))
    return np.repeat(np.repeat(a, b, axis=0), b, axis=1).reshape(D).astype(np.float32)


def corruption(x, kind, severity, rng, where):
    """An ImageNet-C-style corruption of the digit at `severity` 1-5 (fixed parameters per level;
    `where`: the occluder's place, fixed per image)."""
    from scipy.ndimage import gaussian_filter, uniform_filter1d, zoom
    k = severity - 1
    a = x.reshape(SIDE, SIDE)
    if kind == "gaussian_noise":
        out = a + rng.normal(0, (0.04, 0.08, 0.12, 0.18, 0.26)[k], a.shape)
    elif kind == "salt_pepper":
        out = a.copy()
        m = rng.random(a.shape) < (0.03, 0.06, 0.10, 0.15, 0.22)[k]
        out[m] = rng.integers(0, 2, int(m.sum()))
    elif kind == "occlusion":
        c = (1, 2, 3, 4, 5)[k]
        i, j = (min(int(w), SIDE - c) for w in where)
        out = a.copy()
        out[i:i + c, j:j + c] = 0.0
    elif kind == "pixelate":
        n = (7, 6, 5, 4, 3)[k]
        small = zoom(a, n / SIDE, order=1, grid_mode=True, mode="nearest")
        out = zoom(small, SIDE / small.shape[0], order=0, grid_mode=True, mode="nearest")[:SIDE, :SIDE]
    elif kind == "contrast":
        f = (0.8, 0.6, 0.45, 0.3, 0.2)[k]
        out = (a - a.mean()) * f + a.mean()
    elif kind == "motion_blur":
        out = uniform_filter1d(a, size=(2, 3, 4, 5, 6)[k], axis=1, mode="constant")
    else:  # defocus
        out = gaussian_filter(a, sigma=(0.4, 0.6, 0.8, 1.0, 1.3)[k])
    return np.clip(out.reshape(D), 0, 1).astype(np.float32)


CORRUPTIONS = ("gaussian_noise", "salt_pepper", "occlusion", "pixelate", "contrast", "motion_blur", "defocus")


def recentre(x):
    """A reviewer's clean-up: the digit moved so its centre of mass is at the image centre
    (bilinear, at most 1.5 px)."""
    from scipy.ndimage import center_of_mass, shift as subpixel
    a = x.reshape(SIDE, SIDE)
    if a.sum() <= 0:
        return x.copy()
    d = np.clip(np.full(2, (SIDE - 1) / 2.0) - np.asarray(center_of_mass(a)), -1.5, 1.5)
    return np.clip(subpixel(a, d, order=1, mode="constant").reshape(D), 0, 1).astype(np.float32)


def run_benign_heldout5(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout5` (fixed with seeds 9501, 9502, 9503). Each client draws
    from its own seeded generator:
      a persona   form: a form reader: a scanned page's digit fields (`form_fields` (lo, hi) of
                    them) with the page's skew (rotation U(-`form_skew`, +) degrees and shear
                    U(-`form_shear`, +), shared by the page's fields), the scanner's levels (black
                    point U(0, 0.08), white point U(0.85, 1.0)) and the pen's width (bold, thin or
                    as written), one page a batch (`form_batch`) or one field a request;
                  active: an active-learning review queue: a batch of `active_candidates` (lo,
                    hi) unlabelled pool images, then the `active_review` (lo, hi) least certain
                    of them (smallest top-two probability gap in the answer) each re-sent after a
                    human reviewer's clean-ups, one a request, cumulative, `active_cleanups`
                    (lo, hi) of: recentring by centre of mass, zeroing faint pixels (< 0.1),
                    bolder pen (uncertainty sampling: the answers choose which images are
                    reviewed, the clean-ups do not depend on the answers);
                  drawing: live handwriting recognition while the user draws: the digit's inked
                    pixels revealed in pen order (pen_path), `drawing_frames` (lo, hi) frames,
                    one a request; with `drawing_redraw` the user clears and draws it again
                    (shifted by a pixel); with `drawing_submit` the final frame sent again on
                    submit;
                  progressive: progressive image loading, classified at every scan: either a
                    progressive JPEG's spectral selection (the first 1, 3, 6, 10, 15, 28 zig-zag DCT
                    coefficients, 3-5 of those scans, then all 64) or block-mean previews (4x4
                    blocks, 2x2, full), one a request; with `progressive_early_exit` the client
                    stops loading once the top probability is >= `progressive_confident`;
                  corrupt: a robustness sweep (ImageNet-C style): per image `corrupt_types` (lo,
                    hi) corruptions (CORRUPTIONS) at severities 1-5 after the clean image, one
                    corruption a batch (`corrupt_batch`) or one severity a request, in order;
                  canary: synthetic monitoring: a golden set of `canary_golden` (lo, hi) pool
                    images fixed at the start, sent again and again (one batch, `canary_batch`, or
                    one image a request, always in the same order), `canary_idle` (lo, hi) idle
                    turns of the round-robin between probes;
                  misconfig: a client with a pre-processing bug for the first `misconfig_share`
                    (lo-hi) of its requests (raw 0-16 values divided by 255; inverted polarity;
                    rows and columns transposed), then fixed: it re-sends its last 1-3 images
                    correctly, then plain rows;
                  explain: explanations of predictions: each image sent as it is, then either
                    LIME (`explain_lime`; `lime_samples` (lo, hi) samples of the 16 2x2-block
                    superpixels each kept with p 0.5, hidden ones set to 0 or to their block's
                    mean, the first sample the whole image, `lime_batch` rows a request, as
                    lime_image does) or an occlusion map (a 2x2 or 3x3 zero patch at stride 1 or
                    2 over every position, `occlusion_batch` (one of) rows a request);
      plain rows  (misconfig) pool images by popularity, with `batch_p` a batch of `batch` (lo, hi)
                  rows, `resend` re-sends of the client's own rows;
      8-bit       a share `quant8` of clients store every image as 8-bit before sending;
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool and transforms of them, in [0, 1]. Every client
    paces requests and rows under the server's default limits (80 req/s, 800 rows/s)."""
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas5"])
    n_req = session_requests(rng)
    q8 = rng.random() < HAB["quant8"]
    prog_mode = str(rng.choice(["dct", "blocks"]))
    golden_n = int(rng.integers(*HAB["canary_golden"]))
    bug = str(rng.choice(["div255", "inverted", "transposed"]))
    bug_until = int(round(n_req * rng.uniform(*HAB["misconfig_share"])))
    lime_fill = str(rng.choice(["zero", "mean"]))
    occ_batch = int(rng.choice(HAB["occlusion_batch"]))
    s.meta.update(persona=persona, planned_requests=n_req, quant8=int(q8))
    sent = []
    done = [0]

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    golden = np.stack([draw() for _ in range(golden_n)]) if persona == "canary" else None

    def plain_rows():
        n = int(rng.integers(*HAB["batch"])) if rng.random() < HAB["batch_p"] else 1
        return np.stack([sent[int(rng.integers(len(sent)))].copy() if sent and rng.random() < HAB["resend"]
                         else draw() for _ in range(n)])

    def send(rows):
        """One request; returns the answer's probabilities (None if refused)."""
        rows = np.asarray(rows, np.float32).reshape(-1, D)
        if q8:
            rows = quant8(rows)
        probs = None
        try:
            _, probs = query(h, baton, s, rows, scores=True)
        except Refused:
            pass   # a benign client whose request is refused carries on
        done[0] += 1
        sent.extend(rows)
        return probs

    def idle(turns):
        for _ in range(turns):
            baton.pass_on(s)

    def form():
        n = int(rng.integers(*HAB["form_fields"]))
        ang = float(rng.uniform(-HAB["form_skew"], HAB["form_skew"]))
        sh = float(rng.uniform(-HAB["form_shear"], HAB["form_shear"]))
        black, white = float(rng.uniform(0, 0.08)), float(rng.uniform(0.85, 1.0))
        pen = str(rng.choice(["bold", "thin", "none"]))
        fields = np.stack([levels(pen_width(page_skew(draw(), ang, sh), pen), black, white) for _ in range(n)])
        if rng.random() < HAB["form_batch"]:
            yield fields
        else:
            for f in fields:
                yield f[None]

    def active():
        m = int(rng.integers(*HAB["active_candidates"]))
        cand = np.stack([draw() for _ in range(m)])
        probs = send(cand)
        if probs is None:
            return
        top = np.sort(probs, axis=1)
        order = np.argsort(top[:, -1] - top[:, -2], kind="stable")
        for i in order[:int(rng.integers(*HAB["active_review"]))]:
            x = cand[i]
            steps = list(rng.permutation(["recentre", "faint", "bold"]))[:int(rng.integers(*HAB["active_cleanups"]))]
            for st in steps:
                if done[0] >= n_req:
                    return
                if st == "recentre":
                    x = recentre(x)
                elif st == "faint":
                    x = np.where(x < 0.1, 0.0, x).astype(np.float32)
                else:
                    x = pen_width(x, "bold")
                send(x[None])

    def drawing():
        x = draw()
        attempts = 2 if rng.random() < HAB["drawing_redraw"] else 1
        for a in range(attempts):
            if a:
                x = shift(x, rng)
            path = pen_path(x)
            nf = int(rng.integers(*HAB["drawing_frames"]))
            frame = np.zeros(D, np.float32)
            for t in range(1, nf + 1):
                frame = np.zeros(D, np.float32)
                upto = int(np.ceil(t / nf * len(path)))
                frame[path[:upto]] = x[path[:upto]]
                yield frame[None]
            if rng.random() < HAB["drawing_submit"]:
                yield frame[None]

    def progressive():
        x = draw()
        if prog_mode == "dct":
            scans = sorted(rng.choice([1, 3, 6, 10, 15, 28], size=int(rng.integers(3, 6)), replace=False).tolist())
            stages = [dct_first(x, int(k)) for k in scans] + [x]
        else:
            stages = [block_mean(x, 4), block_mean(x, 2), x]
        early = rng.random() < HAB["progressive_early_exit"]
        for y in stages:
            probs = send(y[None])
            if early and probs is not None and float(probs[0].max()) >= HAB["progressive_confident"]:
                return
            if done[0] >= n_req:
                return

    def corrupt():
        x = draw()
        kinds = rng.permutation(CORRUPTIONS)[:int(rng.integers(*HAB["corrupt_types"]))]
        first = True
        for kind in kinds:
            where = rng.integers(0, SIDE - 1, size=2)
            rows = [corruption(x, str(kind), sev, rng, where) for sev in range(1, 6)]
            if first:
                rows = [x] + rows
                first = False
            if rng.random() < HAB["corrupt_batch"]:
                yield np.stack(rows)
            else:
                for r in rows:
                    yield r[None]

    def canary():
        if rng.random() < HAB["canary_batch"]:
            yield golden
        else:
            for g in golden:
                yield g[None]
        idle(int(rng.integers(*HAB["canary_idle"])))

    last_buggy = []

    def misconfig():
        if done[0] < bug_until:
            raw = plain_rows()
            if bug == "div255":
                rows = raw * 16.0 / 255.0
            elif bug == "inverted":
                rows = 1.0 - raw
            else:
                rows = raw.reshape(-1, SIDE, SIDE).transpose(0, 2, 1).reshape(-1, D)
            last_buggy[:] = (last_buggy + list(raw))[-3:]
            yield np.clip(rows, 0, 1)
        else:
            if last_buggy:
                k = int(rng.integers(1, len(last_buggy) + 1))
                redo = last_buggy[-k:]
                last_buggy.clear()
                for x in redo:
                    yield x[None]
                return
            yield plain_rows()

    def explain():
        x = draw()
        yield x[None]
        if rng.random() < HAB["explain_lime"]:
            n = int(rng.integers(*HAB["lime_samples"]))
            z = rng.integers(0, 2, size=(n, 16))
            z[0] = 1
            blocks = block_mean(x, 2) if lime_fill == "mean" else np.zeros(D, np.float32)
            seg = ((np.arange(D) // SIDE) // 2) * 4 + (np.arange(D) % SIDE) // 2
            rows = np.where(z[:, seg] == 1, x[None], blocks[None]).astype(np.float32)
            for k in range(0, n, HAB["lime_batch"]):
                yield rows[k:k + HAB["lime_batch"]]
        else:
            c = int(rng.choice([2, 3]))
            st = int(rng.choice([1, 2]))
            rows = []
            for i in range(0, SIDE - c + 1, st):
                for j in range(0, SIDE - c + 1, st):
                    a = x.reshape(SIDE, SIDE).copy()
                    a[i:i + c, j:j + c] = 0.0
                    rows.append(a.reshape(D))
            rows = np.stack(rows)
            for k in range(0, len(rows), occ_batch):
                yield rows[k:k + occ_batch]

    units = {"form": form, "drawing": drawing, "corrupt": corrupt, "canary": canary,
             "misconfig": misconfig, "explain": explain}
    while done[0] < n_req:
        if persona == "active":
            active()
            continue
        if persona == "progressive":
            progressive()
            continue
        for rows in units[persona]():
            send(rows)
            if done[0] >= n_req:
                break


# ---------------------------------------------------------------------------------------------
# Held out 6: benign clients with habits none of dev .. heldout5 model (run_benign_heldout6).
def otsu_threshold(a):
    """Otsu's threshold of the values in `a` (256 bins on [0, 1]): the one that maximises the
    between-class variance of the two sides, as a document pipeline's binarisation picks it."""
    hist, edges = np.histogram(np.clip(a, 0, 1), bins=256, range=(0.0, 1.0))
    p = hist.astype(float) / max(hist.sum(), 1)
    mids = (edges[:-1] + edges[1:]) / 2.0
    w0 = np.cumsum(p)
    mu = np.cumsum(p * mids)
    with np.errstate(divide="ignore", invalid="ignore"):
        sb = np.nan_to_num((mu[-1] * w0 - mu) ** 2 / (w0 * (1.0 - w0)))
    return float(edges[int(np.argmax(sb)) + 1])


def floyd_steinberg(x, t=0.5):
    """1-bit error-diffusion dithering (Floyd-Steinberg, raster order), as a fax or thermal
    printer path renders a grey image."""
    a = x.reshape(SIDE, SIDE).astype(np.float64).copy()
    out = np.zeros_like(a)
    for i in range(SIDE):
        for j in range(SIDE):
            new = 1.0 if a[i, j] >= t else 0.0
            e = a[i, j] - new
            out[i, j] = new
            if j + 1 < SIDE:
                a[i, j + 1] += e * 7 / 16
            if i + 1 < SIDE:
                if j > 0:
                    a[i + 1, j - 1] += e * 3 / 16
                a[i + 1, j] += e * 5 / 16
                if j + 1 < SIDE:
                    a[i + 1, j + 1] += e * 1 / 16
    return out.reshape(D).astype(np.float32)


def resample(x, n, order):
    """The digit down-sampled to n x n (bilinear) and up-sampled back to 8x8 (`order` 0: nearest,
    1: bilinear), as an app that uploads a smaller capture and resizes it to the model's input."""
    from scipy.ndimage import zoom
    if n == SIDE:
        return x.copy()
    small = zoom(x.reshape(SIDE, SIDE), n / SIDE, order=1, grid_mode=True, mode="nearest")
    big = zoom(small, SIDE / small.shape[0], order=order, grid_mode=True, mode="nearest")[:SIDE, :SIDE]
    assert big.shape == (SIDE, SIDE)
    return np.clip(big.reshape(D), 0, 1).astype(np.float32)


def run_benign_heldout6(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout6` (fixed with seeds 9601, 9602, 9603). Each client draws
    from its own seeded generator:
      a persona   otsu: a document OCR pipeline: a scanned document of `otsu_digits` (lo, hi) pool
                    digits on the document's paper (background level U(`otsu_background`), ink
                    gain U(`otsu_gain`), N(0, `otsu_noise`) scanner noise), binarised with the
                    document's own Otsu threshold (otsu_threshold over all its pixels), either
                    hard (ink 1, paper 0) or threshold-to-zero with the ink stretched to [0, 1]
                    (the client's mode); a share `otsu_dither` of clients receive documents by
                    fax instead: background-corrected, then 1-bit Floyd-Steinberg dithered; one
                    document a batch (`otsu_batch`) or one digit a request;
                  ladder: a mobile app on a flaky network (a resolution ladder): each camera
                    crop is uploaded at the resolution the network allows (`ladder_levels`:
                    8x8, 6x6 or 4x4; a Markov chain that keeps its level with `ladder_stay`, else
                    moves one step) and resized back to 8x8 by the client's resizer (nearest or
                    bilinear, fixed per client); with `batch_p` a queue of `batch` (lo, hi)
                    crops goes out at once when the network comes back;
                  orient: an orientation check (a labelling tool that does not know which way up
                    a scan is): each image with its rotations by 90, 180 and 270 degrees, and for
                    a share `orient_flips` of clients its left-right and up-down mirrors too, as
                    one batch (`orient_batch`) or one orientation a request;
                  cache: an inference gateway with a client-side near-duplicate cache: plain
                    traffic (pool images by popularity, a share with N(0, 0.02) noise, brightness
                    x U(0.9, 1.1) or a one-pixel shift), but a row within L2 `cache_radius` of
                    one of the last `cache_size` rows sent is answered from the cache and not
                    sent (entries expire after `cache_ttl` of the client's input batches); with
                    `batch_p` the client's input batch is `cache_batch` (lo, hi) rows, of which
                    only the misses are sent (nothing when all hit);
                  team: one API key shared by a team of `team_size` (lo, hi) people, each with
                    a habit of their own (single images; notebook batches of 4-16; a fixed
                    pre-processing of their own: blur, contrast or levels; re-takes of their last
                    image with a small change), the next request from member k with weight
                    1 / (k + 1);
                  sensor: a kiosk camera with a defective sensor, the same for every image: dead
                    pixels (`sensor_dead` (lo, hi), always 0) and hot pixels (`sensor_hot` (lo,
                    hi), always 1) at fixed places, vignetting (gain 1 - v r^2, v U(lo, hi) of
                    `sensor_vignette`), fixed per-pixel gain N(1, `sensor_prnu`), then
                    N(0, `sensor_noise`) noise; plain pool images otherwise (`batch_p`);
                  bracket: exposure bracketing (an HDR capture app): each image at `bracket_n`
                    (one of) exposures (-1, 0, +1 EV, or -1, -0.5, 0, +0.5, +1 EV; gain 2^EV,
                    clipped at 1, shot noise N(0, 0.02 / sqrt(gain)), 8-bit), as one batch
                    (`bracket_batch`) or one exposure a request; with `bracket_fused` the
                    client's fused image (the mean of the exposures) after them;
                  segment: a multi-digit reader (meter readings, ZIP codes): a strip of
                    `segment_digits` (lo, hi) pool digits with `segment_gap` (lo, hi) blank
                    columns between them, and for each digit the segmenter's candidate cuts (the
                    8-column windows at -1, 0 and +1 columns from its start, inside the strip,
                    the outer ones carrying a column of a neighbour), a strip's candidates in one
                    batch (`segment_batch`) or one digit's a request;
      8-bit       a share `quant8` of clients store every image as 8-bit before sending;
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool and transforms of them, in [0, 1]. Every client
    paces requests and rows under the server's default limits (80 req/s, 800 rows/s)."""
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas6"])
    n_req = session_requests(rng)
    q8 = rng.random() < HAB["quant8"]
    fax = rng.random() < HAB["otsu_dither"]
    otsu_mode = str(rng.choice(["hard", "tozero"]))
    levels6 = list(HAB["ladder_levels"])
    level = int(rng.integers(len(levels6)))
    up_order = int(rng.integers(2))
    flips = rng.random() < HAB["orient_flips"]
    team = []
    for k in range(int(rng.integers(*HAB["team_size"]))):
        style = str(rng.choice(["single", "batch", "preproc", "retake"]))
        pre = str(rng.choice(["blur", "contrast", "levels"]))
        team.append({"style": style, "pre": pre, "f": float(rng.uniform(0.4, 0.7)) if pre == "blur"
                     else float(rng.choice([0.8, 1.2])) if pre == "contrast" else float(rng.uniform(0.03, 0.1)),
                     "w": 1.0 / (k + 1), "last": None})
    dead = rng.choice(D, int(rng.integers(*HAB["sensor_dead"])), replace=False)
    hot = rng.choice(np.setdiff1d(np.arange(D), dead), int(rng.integers(*HAB["sensor_hot"])), replace=False)
    v = float(rng.uniform(*HAB["sensor_vignette"]))
    r2 = ((np.arange(SIDE)[:, None] - 3.5) ** 2 + (np.arange(SIDE)[None, :] - 3.5) ** 2).reshape(D) / (2 * 3.5 ** 2)
    sensor_gain = (1.0 - v * r2) * rng.normal(1.0, HAB["sensor_prnu"], D)
    n_exp = int(rng.choice(HAB["bracket_n"]))
    s.meta.update(persona=persona, planned_requests=n_req, quant8=int(q8))
    if persona == "team":
        s.meta.update(team_size=len(team))
    cache = collections.deque(maxlen=HAB["cache_size"])   # (input batch, row) of rows sent
    tick = [0]                                             # the cache persona's input batches
    done = [0]

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def n_batch():
        return int(rng.integers(*HAB["batch"])) if rng.random() < HAB["batch_p"] else 1

    def send(rows):
        rows = np.asarray(rows, np.float32).reshape(-1, D)
        if q8:
            rows = quant8(rows)
        try:
            query(h, baton, s, rows, scores=True)
        except Refused:
            pass   # a benign client whose request is refused carries on
        done[0] += 1
        cache.extend((tick[0], r) for r in rows)

    def one_or_batch(rows, p_batch):
        rows = np.asarray(rows, np.float32).reshape(-1, D)
        if rng.random() < p_batch:
            yield rows
        else:
            for r in rows:
                yield r[None]

    def otsu():
        n = int(rng.integers(*HAB["otsu_digits"]))
        b = float(rng.uniform(*HAB["otsu_background"]))
        g = float(rng.uniform(*HAB["otsu_gain"]))
        page = np.stack([draw() for _ in range(n)])
        page = np.clip(b + g * page * (1.0 - b) + rng.normal(0, HAB["otsu_noise"], page.shape), 0, 1)
        if fax:
            rows = np.stack([floyd_steinberg(np.clip((p - b) / max(g * (1.0 - b), 1e-3), 0, 1)) for p in page])
        else:
            t = otsu_threshold(page)
            if otsu_mode == "hard":
                rows = (page > t).astype(np.float32)
            else:
                rows = np.where(page > t, (page - t) / max(1.0 - t, 1e-3), 0.0)
        yield from one_or_batch(np.clip(rows, 0, 1), HAB["otsu_batch"])

    def ladder():
        nonlocal level
        rows = []
        for _ in range(n_batch()):
            if rng.random() > HAB["ladder_stay"]:
                level = int(np.clip(level + rng.choice([-1, 1]), 0, len(levels6) - 1))
            rows.append(resample(draw(), levels6[level], up_order))
        yield np.stack(rows)

    def orient():
        a = draw().reshape(SIDE, SIDE)
        rows = [np.rot90(a, k) for k in range(4)]
        if flips:
            rows += [a[:, ::-1], a[::-1, :]]
        yield from one_or_batch(np.stack([r.reshape(D) for r in rows]), HAB["orient_batch"])

    def variation(x):
        k = int(rng.integers(4))
        if k == 0:
            return x
        if k == 1:
            return np.clip(x + rng.normal(0, 0.02, D), 0, 1).astype(np.float32)
        if k == 2:
            return np.clip(x * rng.uniform(0.9, 1.1), 0, 1).astype(np.float32)
        return shift(x, rng)

    def cached():
        while True:   # input batches until one has a miss
            tick[0] += 1
            while cache and cache[0][0] < tick[0] - HAB["cache_ttl"]:
                cache.popleft()                              # expired
            n = int(rng.integers(*HAB["cache_batch"])) if rng.random() < HAB["batch_p"] else 1
            miss = []
            for _ in range(n):
                x = variation(draw())
                y = quant8(x) if q8 else x
                c = np.asarray([r for _, r in cache] + miss, np.float32).reshape(-1, D)
                if not len(c) or float(np.sqrt(((c - y) ** 2).sum(1)).min()) > HAB["cache_radius"]:
                    miss.append(y)
            if miss:
                yield np.stack(miss)
                return

    def member_row(m):
        if m["style"] == "retake" and m["last"] is not None and rng.random() < 0.3:
            x = m["last"]
            return shift(x, rng) if rng.random() < 0.5 else np.clip(x + rng.normal(0, 0.02, D), 0, 1).astype(np.float32)
        x = draw()
        m["last"] = x
        if m["style"] == "preproc":
            if m["pre"] == "blur":
                from scipy.ndimage import gaussian_filter
                x = gaussian_filter(x.reshape(SIDE, SIDE), sigma=m["f"]).reshape(D)
            elif m["pre"] == "contrast":
                x = (x - x.mean()) * m["f"] + x.mean()
            else:
                x = levels(x, m["f"], 1.0 - m["f"])
        return np.clip(x, 0, 1).astype(np.float32)

    def team_unit():
        w = np.asarray([m["w"] for m in team])
        m = team[int(rng.choice(len(team), p=w / w.sum()))]
        n = int(rng.integers(4, 17)) if m["style"] == "batch" else 1
        yield np.stack([member_row(m) for _ in range(n)])

    def sensor():
        rows = []
        for _ in range(n_batch()):
            a = draw() * sensor_gain + rng.normal(0, HAB["sensor_noise"], D)
            a[dead] = 0.0
            a[hot] = 1.0
            rows.append(np.clip(a, 0, 1))
        yield np.stack(rows)

    def bracket():
        x = draw()
        evs = (-1.0, 0.0, 1.0) if n_exp == 3 else (-1.0, -0.5, 0.0, 0.5, 1.0)
        rows = np.stack([quant8(np.clip(x * 2 ** ev + rng.normal(0, 0.02 / np.sqrt(2 ** ev), D), 0, 1))
                         for ev in evs])
        yield from one_or_batch(rows, HAB["bracket_batch"])
        if rng.random() < HAB["bracket_fused"]:
            yield quant8(rows.mean(axis=0))[None]

    def segment():
        k = int(rng.integers(*HAB["segment_digits"]))
        cols, starts = [], []
        for i in range(k):
            if i:
                cols.append(np.zeros((SIDE, int(rng.integers(*HAB["segment_gap"])))))
            starts.append(sum(c.shape[1] for c in cols))
            cols.append(draw().reshape(SIDE, SIDE))
        strip = np.hstack(cols)
        per_digit = []
        for st in starts:
            win = [strip[:, st + o:st + o + SIDE].reshape(D) for o in (-1, 0, 1)
                   if 0 <= st + o and st + o + SIDE <= strip.shape[1]]
            per_digit.append(np.stack(win))
        if rng.random() < HAB["segment_batch"]:
            yield np.concatenate(per_digit)
        else:
            yield from per_digit

    units = {"otsu": otsu, "ladder": ladder, "orient": orient, "cache": cached, "team": team_unit,
             "sensor": sensor, "bracket": bracket, "segment": segment}
    while done[0] < n_req:
        for rows in units[persona]():
            send(rows)
            if done[0] >= n_req:
                break


# ---------------------------------------------------------------------------------------------
# Held out 7: benign clients with habits none of dev .. heldout6 model (run_benign_heldout7).
def bit_depth(x, bits):
    """Feature squeezing's colour-depth reduction to `bits` bits (Xu et al. 2018)."""
    m = 2 ** bits - 1
    return (np.round(np.clip(x, 0, 1) * m) / m).astype(np.float32)


def median2(x):
    """Feature squeezing's local median smoothing, a 2x2 window (scipy's median_filter, reflect)."""
    from scipy.ndimage import median_filter
    return median_filter(x.reshape(SIDE, SIDE), size=2, mode="reflect").reshape(D).astype(np.float32)


def elastic(x, rng, alpha, sigma):
    """Simard et al. 2003's elastic distortion: a U(-1, 1) displacement field per axis smoothed
    by a Gaussian of `sigma` px and scaled by `alpha`, bilinear resampling (their MNIST sigma 4 px
    scaled to 8x8 is about 1.2 px; alpha is kept small, displacements of about 0.15-0.35 px,
    because an 8x8 pixel is a 4x4 block of the 32x32 original: their alpha scaled the same way
    turns most digits into another class)."""
    from scipy.ndimage import gaussian_filter, map_coordinates
    a = x.reshape(SIDE, SIDE)
    dx = gaussian_filter(rng.uniform(-1, 1, a.shape), sigma, mode="constant") * alpha
    dy = gaussian_filter(rng.uniform(-1, 1, a.shape), sigma, mode="constant") * alpha
    i, j = np.meshgrid(np.arange(SIDE), np.arange(SIDE), indexing="ij")
    out = map_coordinates(a, [i + dy, j + dx], order=1, mode="constant")
    return np.clip(out.reshape(D), 0, 1).astype(np.float32)


def optdigits(x, rng, thresh, dy, dx):
    """The UCI optdigits pre-processing a client re-does on its own higher-resolution capture:
    the digit as a 32x32 bitmap (the 8x8 image up-sampled bilinearly, thresholded at `thresh`,
    the pen's pressure; moved by (dy, dx) of the 32x32 pixels), then the count of inked pixels in
    each non-overlapping 4x4 block (0..16), divided by 16 as the model's training data is."""
    from scipy.ndimage import zoom
    big = zoom(x.reshape(SIDE, SIDE), 4, order=1, grid_mode=True, mode="nearest")[:32, :32]
    bm = (big > thresh).astype(np.float32)
    bm = np.roll(np.roll(bm, dy, axis=0), dx, axis=1)
    if dy > 0:
        bm[:dy] = 0
    elif dy < 0:
        bm[dy:] = 0
    if dx > 0:
        bm[:, :dx] = 0
    elif dx < 0:
        bm[:, dx:] = 0
    return (bm.reshape(SIDE, 4, SIDE, 4).sum(axis=(1, 3)) / 16.0).reshape(D).astype(np.float32)


def whiteboard(x, rng, amp, angle, base, gain, noise):
    """A phone photo of a digit written on a whiteboard (dark ink shown as bright on a grey board
    after the app's inversion): the board's level `base`, an illumination ramp of amplitude `amp`
    at `angle`, the ink's `gain`, N(0, noise) noise; then the client's flat-field correction: a
    plane fitted by least squares to the outer two columns (mostly board) subtracted, the result
    scaled so its brightest pixel is 1."""
    r, c = np.meshgrid(np.arange(SIDE) - 3.5, np.arange(SIDE) - 3.5, indexing="ij")
    ramp = amp * (np.cos(angle) * c + np.sin(angle) * r) / 3.5
    a = base + ramp + gain * x.reshape(SIDE, SIDE) + rng.normal(0, noise, (SIDE, SIDE))
    a = np.clip(a, 0, 1)
    m = np.zeros((SIDE, SIDE), bool)
    m[:, [0, SIDE - 1]] = True
    A = np.stack([np.ones(m.sum()), r[m], c[m]], axis=1)
    coef, *_ = np.linalg.lstsq(A, a[m], rcond=None)
    flat = a - (coef[0] + coef[1] * r + coef[2] * c)
    top = float(flat.max())
    flat = flat / top if top > 1e-6 else flat
    return np.clip(flat.reshape(D), 0, 1).astype(np.float32)


def stroke(x, kind):
    """A stroke-width normaliser's candidate widths: grey erosion (thinner) or dilation (bolder)
    with a 3x3 cross (isotropic: the digit does not move), blended in at 0.3 or 0.6."""
    from scipy.ndimage import grey_dilation, grey_erosion
    cross = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)
    a = x.reshape(SIDE, SIDE)
    op = grey_erosion if kind.startswith("thin") else grey_dilation
    w = 0.6 if kind in ("thinner", "bolder") else 0.3
    a = (1.0 - w) * a + w * op(a, footprint=cross)
    return np.clip(a.reshape(D), 0, 1).astype(np.float32)


STROKES = ("thin", "thinner", "bold", "bolder")


def run_benign_heldout7(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout7` (fixed with seeds 9701, 9702, 9703). Each client draws
    from its own seeded generator:
      a persona   smoothing: certified prediction by randomized smoothing (Cohen et al. 2019's
                    PREDICT, run by a client that cannot change the served model): each image as
                    `smooth_n` (one of) copies with N(0, sigma^2) noise, sigma one of
                    `smooth_sigma` (fixed per client), clipped to [0, 1], sent in chunks of
                    `smooth_chunk` (one of) rows; a share `smooth_clean` of clients send the clean
                    image first;
                  squeeze: a feature-squeezing adversarial-input detector on the client's side
                    (Xu et al. 2018): each image as it is, at the client's bit depth
                    (`squeeze_bits`, one of) and 2x2-median smoothed, as one 3-row batch
                    (`squeeze_batch`) or three requests;
                  morph: a handwriting-synthesis / teaching demo: a cross-dissolve between two pool
                    digits (`morph_steps` (lo, hi) frames, alpha 0 .. 1 evenly), the whole morph
                    in one batch (`morph_batch`) or one frame a request;
                  elastic: an augmentation QA tool that checks label-preserving augmentations
                    before they go into a training set: each image and `elastic_n` (lo, hi)
                    elastic distortions of it (Simard et al. 2003, alpha U(`elastic_alpha`),
                    sigma `elastic_sigma` px), one batch (`elastic_batch`) or one a request;
                  optdigits: a client that re-creates the UCI optdigits input from its own 32x32
                    bitmaps (optdigits above: pen threshold U(`opt_thresh`) per client, a random
                    sub-pixel offset of up to `opt_offset` 32x32 pixels per image), values on the
                    training data's 1/16 grid; `batch_p` batches of `batch` (lo, hi);
                  whiteboard: phone photos of digits on a whiteboard with the app's flat-field
                    correction (whiteboard above: ramp amplitude U(`wb_amp`), board level
                    U(`wb_base`), ink gain U(`wb_gain`), noise `wb_noise`; the room's light, the
                    ramp's angle, drifting slowly between photos); `batch_p` batches;
                  evalshuffle: a model-comparison / regression harness replaying a fixed eval set
                    of `eval_size` (lo, hi) pool images, every epoch in a new random order, in
                    batches of `eval_batch` (one of, fixed per client);
                  stroke: a stroke-width normaliser: each image at `stroke_n` (lo, hi) candidate
                    widths (the image as it is first, then STROKES in the client's order), one
                    batch (`stroke_batch`) or one width a request;
      number      a share `quant8` of clients store every image as 8-bit before sending, and a
      format      share `fp16` (of the rest) send half-precision values (float16 round trip);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool and transforms of them, in [0, 1]. Every client
    paces requests and rows under the server's default limits (80 req/s, 800 rows/s)."""
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas7"])
    n_req = session_requests(rng)
    u = rng.random()
    q8 = u < HAB["quant8"]
    f16 = (not q8) and u < HAB["quant8"] + HAB["fp16"] * (1.0 - HAB["quant8"])
    sm_sigma = float(rng.choice(HAB["smooth_sigma"]))
    sm_clean = rng.random() < HAB["smooth_clean"]
    sm_chunk = int(rng.choice(HAB["smooth_chunk"]))
    bits = int(rng.choice(HAB["squeeze_bits"]))
    thresh = float(rng.uniform(*HAB["opt_thresh"]))
    wb_angle = float(rng.uniform(0, 2 * np.pi))
    eval_n = int(rng.integers(*HAB["eval_size"]))
    eval_b = int(rng.choice(HAB["eval_batch"]))
    order = list(rng.permutation(STROKES))
    s.meta.update(persona=persona, planned_requests=n_req, quant8=int(q8), fp16=int(f16))
    done = [0]

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    eval_set = np.stack([draw() for _ in range(eval_n)]) if persona == "evalshuffle" else None

    def n_batch():
        return int(rng.integers(*HAB["batch"])) if rng.random() < HAB["batch_p"] else 1

    def send(rows):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1)
        if q8:
            rows = quant8(rows)
        elif f16:
            rows = rows.astype(np.float16).astype(np.float32)
        try:
            query(h, baton, s, rows, scores=True)
        except Refused:
            pass   # a benign client whose request is refused carries on
        done[0] += 1

    def one_or_batch(rows, p_batch):
        rows = np.asarray(rows, np.float32).reshape(-1, D)
        if rng.random() < p_batch:
            yield rows
        else:
            for r in rows:
                yield r[None]

    def smoothing():
        x = draw()
        n = int(rng.choice(HAB["smooth_n"]))
        rows = np.clip(x[None] + rng.normal(0, sm_sigma, (n, D)), 0, 1).astype(np.float32)
        if sm_clean:
            yield x[None]
        for k in range(0, n, sm_chunk):
            yield rows[k:k + sm_chunk]

    def squeeze():
        x = draw()
        yield from one_or_batch(np.stack([x, bit_depth(x, bits), median2(x)]), HAB["squeeze_batch"])

    def morph():
        a, b = draw(), draw()
        k = int(rng.integers(*HAB["morph_steps"]))
        al = np.linspace(0.0, 1.0, k)[:, None]
        yield from one_or_batch(((1 - al) * a[None] + al * b[None]).astype(np.float32), HAB["morph_batch"])

    def elastic_unit():
        x = draw()
        n = int(rng.integers(*HAB["elastic_n"]))
        rows = [x] + [elastic(x, rng, float(rng.uniform(*HAB["elastic_alpha"])), HAB["elastic_sigma"])
                      for _ in range(n)]
        yield from one_or_batch(np.stack(rows), HAB["elastic_batch"])

    def opt_unit():
        o = HAB["opt_offset"]
        yield np.stack([optdigits(draw(), rng, thresh, int(rng.integers(-o, o + 1)), int(rng.integers(-o, o + 1)))
                        for _ in range(n_batch())])

    def wb_unit():
        nonlocal wb_angle
        rows = []
        for _ in range(n_batch()):
            wb_angle += float(rng.normal(0, 0.2))
            rows.append(whiteboard(draw(), rng, float(rng.uniform(*HAB["wb_amp"])), wb_angle,
                                   float(rng.uniform(*HAB["wb_base"])), float(rng.uniform(*HAB["wb_gain"])),
                                   HAB["wb_noise"]))
        yield np.stack(rows)

    def evalshuffle():
        perm = rng.permutation(eval_n)
        for k in range(0, eval_n, eval_b):
            yield eval_set[perm[k:k + eval_b]]

    def stroke_unit():
        x = draw()
        n = int(rng.integers(*HAB["stroke_n"]))
        rows = [x] + [stroke(x, k) for k in order[:n - 1]]
        yield from one_or_batch(np.stack(rows), HAB["stroke_batch"])

    units = {"smoothing": smoothing, "squeeze": squeeze, "morph": morph, "elastic": elastic_unit,
             "optdigits": opt_unit, "whiteboard": wb_unit, "evalshuffle": evalshuffle, "stroke": stroke_unit}
    while done[0] < n_req:
        for rows in units[persona]():
            send(rows)
            if done[0] >= n_req:
                break


# ---------------------------------------------------------------------------------------------
# Held out 8: benign clients with habits none of dev .. heldout7 model (run_benign_heldout8).
# A seven-segment digit on the 8x8 grid: segment -> pixels (row, col).
_SEG = {"a": [(0, c) for c in range(2, 6)], "b": [(r, 6) for r in range(1, 3)],
        "c": [(r, 6) for r in range(4, 7)], "d": [(7, c) for c in range(2, 6)],
        "e": [(r, 1) for r in range(4, 7)], "f": [(r, 1) for r in range(1, 3)],
        "g": [(3, c) for c in range(2, 6)]}
_SEG_DIGITS = ("abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg")


def seven_segment(digit, lit, ghost, slant):
    """A seven-segment display's digit as an 8x8 image: lit segments at `lit`, unlit ones at
    `ghost` (an LCD's ghosting), the display's italic `slant` (a shear, px per row, bilinear)."""
    from scipy.ndimage import affine_transform
    a = np.zeros((SIDE, SIDE))
    for seg, px in _SEG.items():
        v = lit if seg in _SEG_DIGITS[digit] else ghost
        for r, c in px:
            a[r, c] = v
    if slant:
        c = (SIDE - 1) / 2.0
        M = np.array([[1.0, 0.0], [slant, 1.0]])
        a = affine_transform(a, M, offset=np.array([c, c]) - M @ np.array([c, c]), order=1, mode="constant")
    return np.clip(a.reshape(D), 0, 1).astype(np.float32)


def mnist_style(x, rng, res, deskew, fill):
    """The MNIST-style size normalisation a client runs on its own higher-resolution capture (the
    8x8 digit up-sampled to `res` x `res`, cubic, with N(0, 0.02) capture noise): the ink's
    bounding box (> 0.1) scaled to `fill` of the frame keeping its aspect (MNIST's own margin,
    20 of 28, costs the served model most of its accuracy, so the clients fit the frame as the
    optdigits training data does, or nearly), placed so its centre of mass is at the centre; with
    `deskew`, the second-moment deskew (a shear removing the slant); then area-averaged down to
    8x8 and scaled so the brightest pixel is 1."""
    from scipy.ndimage import affine_transform, center_of_mass, shift as subpixel, zoom
    big = np.clip(zoom(x.reshape(SIDE, SIDE), res / SIDE, order=3, grid_mode=True, mode="nearest"), 0, 1)
    big = np.clip(big + rng.normal(0, 0.02, big.shape), 0, 1)
    ink = np.argwhere(big > 0.1)
    if not len(ink):
        return quant8(x)
    (r0, c0), (r1, c1) = ink.min(0), ink.max(0) + 1
    crop = big[r0:r1, c0:c1]
    box = int(round(res * fill))
    f = box / max(crop.shape)
    crop = np.clip(zoom(crop, f, order=1, grid_mode=True, mode="nearest"), 0, 1)[:box, :box]
    frame = np.zeros((res, res))
    o = (res - np.asarray(crop.shape)) // 2
    frame[o[0]:o[0] + crop.shape[0], o[1]:o[1] + crop.shape[1]] = crop
    cm = np.asarray(center_of_mass(frame))
    frame = subpixel(frame, np.full(2, (res - 1) / 2.0) - cm, order=1, mode="constant")
    if deskew:
        i, j = np.mgrid[:res, :res]
        tot = frame.sum()
        if tot > 0:
            mi, mj = (frame * i).sum() / tot, (frame * j).sum() / tot
            cov_ij = (frame * (i - mi) * (j - mj)).sum() / tot
            var_i = (frame * (i - mi) ** 2).sum() / tot
            sk = cov_ij / var_i if var_i > 1e-6 else 0.0
            M = np.array([[1.0, 0.0], [sk, 1.0]])
            c = np.array([mi, mj])
            frame = affine_transform(frame, M, offset=c - M @ c, order=1, mode="constant")
    k = res // SIDE
    small = np.clip(frame, 0, 1)[:k * SIDE, :k * SIDE].reshape(SIDE, k, SIDE, k).mean(axis=(1, 3))
    top = float(small.max())
    return np.clip(small.reshape(D) / (top if top > 1e-6 else 1.0), 0, 1).astype(np.float32)


def paper_lines(rng, style, spacing, level):
    """The faint lines of notebook paper left after the app's background removal: ruled
    (horizontal lines every `spacing` px at a random phase) or squared (horizontal and vertical),
    at `level`; a margin line on one side now and then."""
    a = np.zeros((SIDE, SIDE))
    ph = int(rng.integers(spacing))
    a[ph::spacing, :] = level
    if style == "squared":
        a[:, int(rng.integers(spacing))::spacing] = level
    if rng.random() < 0.15:
        a[:, 0 if rng.random() < 0.5 else SIDE - 1] = level * 1.3
    return a.reshape(D)


def run_benign_heldout8(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout8` (fixed with seeds 9801, 9802, 9803). Each client draws
    from its own seeded generator:
      a persona   meter: a utility-meter reading app that reuses the digit model for a
                    seven-segment register (seven_segment above): a meter of `meter_digits`
                    (one of) digits whose reading grows a little between photos, lit level
                    U(`meter_lit`), LCD ghosting U(`meter_ghost`), an italic slant of 0 or
                    `meter_slant` px a row, the camera's blur (`meter_blur`) and N(0, 0.02) noise,
                    every digit cell of a photo in one batch; `meter_retake` of photos retaken
                    at once (new noise); `meter_idle` (lo, hi) idle turns between photos;
                  mnistprep: a client whose pipeline was written for MNIST: each image through
                    mnist_style above at its capture resolution (`mnist_res`, one of) and frame
                    fill (`mnist_fill`, one of), a share `mnist_deskew` of clients also
                    deskewing; `batch_p` batches of `batch`;
                  padbatch: a client with a static-shape batch (an exported pipeline compiled for
                    `pad_size` (one of) rows): each tick Poisson(`pad_rate`) new images (at least
                    one), the batch filled up to its size with all-zero rows or (a share
                    `pad_repeat` of clients) copies of the last image;
                  editor: a labelling tool with a brush: each image sent; while the answer's top
                    probability is below `edit_conf` (or, `edit_anyway`, the annotator
                    disagrees anyway) the annotator edits and re-sends, up to `edit_max` edits:
                    a stroke of 2-3 pixels next to the ink set to U(0.75, 1), or the eraser on
                    1-3 inked pixels, and with `edit_undo` an undo (the previous image again);
                  overlay: a camera app that burns an overlay into every frame: a timecode (the
                    frame counter's bits as 0 / 0.9 pixels in a 1x4 or 2x2 corner cell, per
                    client) or a translucent logo (a fixed 3x3 pattern at alpha U(`logo_alpha`))
                    in a fixed corner; `batch_p` batches;
                  kiosk: a self-service kiosk's camera sending every frame: empty frames (the
                    background level U(0, `kiosk_bg`) and N(0, `kiosk_noise`) noise) for
                    `kiosk_empty` (lo, hi) frames, then a card with a pool digit slides in from a
                    side (shifted 6, 4, 2 px), is held `kiosk_hold` (lo, hi) frames (a sub-pixel
                    tremor), and slides out; one frame a request;
                  proxy: an API gateway that micro-batches the requests of many end users
                    (`proxy_users` (lo, hi), each with its own device gain U(0.85, 1.15) and
                    noise N(0, U(0.005, 0.03))): each tick Poisson(lambda) end-user images, lambda
                    following a slow load cycle between `proxy_load` (lo, hi), exact duplicates
                    in a batch (a user's double tap, `proxy_dup`) sent once, at most `proxy_max`
                    rows a batch, an idle turn when nothing arrived;
                  notebook: digits written on notebook paper, photographed, the app's background
                    removal leaving the paper's lines (paper_lines: ruled or squared, spacing
                    `nb_spacing` (one of), level U(`nb_level`)), the ink at gain U(0.8, 1), the
                    brighter of ink and line kept; `batch_p` batches;
      number      a share `json3` of clients round every value to 3 decimals (a JavaScript client's
      format      toFixed(3)) and a share `json2` (of the rest) to 2 decimals;
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool, transforms of them, empty kiosk frames and
    seven-segment digits, in [0, 1]. Every client paces requests and rows under the server's
    default limits (80 req/s, 800 rows/s)."""
    from scipy.ndimage import gaussian_filter, shift as subpixel
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas8"])
    n_req = session_requests(rng)
    u = rng.random()
    dec = 3 if u < HAB["json3"] else (2 if u < HAB["json3"] + HAB["json2"] * (1.0 - HAB["json3"]) else None)
    meter_n = int(rng.choice(HAB["meter_digits"]))
    meter_value = int(rng.integers(0, 10 ** meter_n))
    meter_lit = float(rng.uniform(*HAB["meter_lit"]))
    meter_ghost = float(rng.uniform(*HAB["meter_ghost"]))
    meter_slant = float(rng.choice([0.0, HAB["meter_slant"]]))
    res = int(rng.choice(HAB["mnist_res"]))
    deskew = rng.random() < HAB["mnist_deskew"]
    fill = float(rng.choice(HAB["mnist_fill"]))
    pad_size = int(rng.choice(HAB["pad_size"]))
    pad_repeat = rng.random() < HAB["pad_repeat"]
    ov_kind = str(rng.choice(["timecode", "logo"]))
    ov_corner = int(rng.integers(4))
    ov_shape = (1, 4) if rng.random() < 0.5 else (2, 2)
    logo = (rng.random((3, 3)) < 0.5).astype(np.float64)
    logo_alpha = float(rng.uniform(*HAB["logo_alpha"]))
    kiosk_bg = float(rng.uniform(0.0, HAB["kiosk_bg"]))
    n_users = int(rng.integers(*HAB["proxy_users"]))
    users = [(float(rng.uniform(0.85, 1.15)), float(rng.uniform(0.005, 0.03))) for _ in range(n_users)]
    load_phase = float(rng.uniform(0, 2 * np.pi))
    nb_style = str(rng.choice(["ruled", "squared"]))
    nb_spacing = int(rng.choice(HAB["nb_spacing"]))
    s.meta.update(persona=persona, planned_requests=n_req, decimals=dec or 0)
    done = [0]
    frame = [0]

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def n_batch():
        return int(rng.integers(*HAB["batch"])) if rng.random() < HAB["batch_p"] else 1

    def send(rows):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1)
        if dec is not None:
            rows = np.round(rows.astype(np.float64), dec).astype(np.float32)
        probs = None
        try:
            _, probs = query(h, baton, s, rows, scores=True)
        except Refused:
            pass   # a benign client whose request is refused carries on
        done[0] += 1
        return probs

    def idle(turns):
        for _ in range(turns):
            baton.pass_on(s)

    def meter():
        nonlocal meter_value
        meter_value = (meter_value + int(rng.integers(0, 40))) % (10 ** meter_n)
        digits = [int(c) for c in str(meter_value).zfill(meter_n)]
        for _ in range(2 if rng.random() < HAB["meter_retake"] else 1):
            blur = float(rng.uniform(*HAB["meter_blur"]))
            rows = []
            for d in digits:
                a = seven_segment(d, meter_lit, meter_ghost, meter_slant).reshape(SIDE, SIDE)
                a = gaussian_filter(a, blur) + rng.normal(0, 0.02, (SIDE, SIDE))
                rows.append(a.reshape(D))
            send(np.stack(rows))
        idle(int(rng.integers(*HAB["meter_idle"])))

    def mnistprep():
        send(np.stack([mnist_style(draw(), rng, res, deskew, fill) for _ in range(n_batch())]))

    def padbatch():
        k = int(min(pad_size, max(1, rng.poisson(HAB["pad_rate"]))))
        rows = [draw() for _ in range(k)]
        fill = rows[-1] if pad_repeat else np.zeros(D, np.float32)
        send(np.stack(rows + [fill] * (pad_size - k)))

    def editor():
        x = draw().copy()
        prev = []
        probs = send(x[None])
        for _ in range(HAB["edit_max"]):
            if done[0] >= n_req:
                return
            unsure = probs is not None and float(probs[0].max()) < HAB["edit_conf"]
            if not (unsure or rng.random() < HAB["edit_anyway"]):
                return
            if prev and rng.random() < HAB["edit_undo"]:
                x = prev.pop()
            else:
                prev.append(x.copy())
                a = x.reshape(SIDE, SIDE).copy()
                inked = np.argwhere(a > 0.3)
                if rng.random() < 0.6 or not len(inked):
                    i, j = (inked[int(rng.integers(len(inked)))] if len(inked) else rng.integers(1, SIDE - 1, 2))
                    di, dj = [(0, 1), (1, 0), (1, 1), (1, -1)][int(rng.integers(4))]
                    for step in range(1, int(rng.integers(2, 4)) + 1):
                        ii, jj = int(i) + di * step, int(j) + dj * step
                        if 0 <= ii < SIDE and 0 <= jj < SIDE:
                            a[ii, jj] = max(a[ii, jj], rng.uniform(0.75, 1.0))
                else:
                    for k in rng.choice(len(inked), size=min(len(inked), int(rng.integers(1, 4))), replace=False):
                        a[tuple(inked[k])] = 0.0
                x = a.reshape(D).astype(np.float32)
            probs = send(x[None])

    def overlay_row(x):
        a = x.reshape(SIDE, SIDE).copy()
        frame[0] += 1
        r0 = 0 if ov_corner < 2 else SIDE - (ov_shape[0] if ov_kind == "timecode" else 3)
        c0 = 0 if ov_corner % 2 == 0 else SIDE - (ov_shape[1] if ov_kind == "timecode" else 3)
        if ov_kind == "timecode":
            bits = [(frame[0] >> b) & 1 for b in range(4)]
            a[r0:r0 + ov_shape[0], c0:c0 + ov_shape[1]] = 0.9 * np.asarray(bits, float).reshape(ov_shape)
        else:
            cell = a[r0:r0 + 3, c0:c0 + 3]
            a[r0:r0 + 3, c0:c0 + 3] = (1 - logo_alpha * logo) * cell + logo_alpha * logo * 0.9
        return a.reshape(D)

    def overlay():
        send(np.stack([overlay_row(draw()) for _ in range(n_batch())]))

    def kiosk():
        def empty():
            return kiosk_bg + rng.normal(0, HAB["kiosk_noise"], D)
        for _ in range(int(rng.integers(*HAB["kiosk_empty"]))):
            send(empty()[None])
            if done[0] >= n_req:
                return
        x = draw().reshape(SIDE, SIDE)
        ax, sg = int(rng.integers(2)), float(rng.choice([-1.0, 1.0]))
        path = [6, 4, 2] + [0] * int(rng.integers(*HAB["kiosk_hold"])) + [3, 6]
        for p in path:
            off = np.zeros(2)
            off[ax] = sg * p
            off += rng.normal(0, 0.15, 2)
            a = subpixel(x, off, order=1, mode="constant")
            send((np.maximum(a.reshape(D), kiosk_bg) + rng.normal(0, HAB["kiosk_noise"], D))[None])
            if done[0] >= n_req:
                return

    def proxy():
        lo, hi = HAB["proxy_load"]
        lam = lo + (hi - lo) * 0.5 * (1 + np.sin(load_phase + 2 * np.pi * done[0] / 150.0))
        k = int(rng.poisson(lam))
        if k == 0:
            idle(1)
            return
        rows, seen = [], set()
        for _ in range(k):
            g, sd = users[int(rng.integers(n_users))]
            r = np.clip(draw() * g + rng.normal(0, sd, D), 0, 1).astype(np.float32)
            for r2 in ([r, r] if rng.random() < HAB["proxy_dup"] else [r]):
                key = r2.tobytes()
                if key not in seen:
                    seen.add(key)
                    rows.append(r2)
        for j in range(0, len(rows), HAB["proxy_max"]):
            send(np.stack(rows[j:j + HAB["proxy_max"]]))

    def notebook():
        rows = []
        for _ in range(n_batch()):
            x = draw() * rng.uniform(0.8, 1.0)
            rows.append(np.maximum(x, paper_lines(rng, nb_style, nb_spacing, float(rng.uniform(*HAB["nb_level"])))))
        send(np.stack(rows))

    units = {"meter": meter, "mnistprep": mnistprep, "padbatch": padbatch, "editor": editor,
             "overlay": overlay, "kiosk": kiosk, "proxy": proxy, "notebook": notebook}
    while done[0] < n_req:
        units[persona]()


# ---------------------------------------------------------------------------------------------
# Held out 9: benign clients with habits none of dev .. heldout8 model (run_benign_heldout9), and
# the pen glyphs (letters, printed symbols) that its cheque reader and held out 9's copycat
# attacker draw.
def _arc(cx, cy, rx, ry, a0, a1, n=8):
    t = np.deg2rad(np.linspace(a0, a1, n))
    return [(cx + rx * np.cos(v), cy + ry * np.sin(v)) for v in t]


# Capital letters as pen strokes (polylines in a unit box, x to the right, y down).
LETTERS = {
    "A": [[(0.15, 1), (0.5, 0), (0.85, 1)], [(0.3, 0.6), (0.7, 0.6)]],
    "B": [[(0.2, 0), (0.2, 1)], [(0.2, 0)] + _arc(0.45, 0.25, 0.3, 0.25, -90, 90) + [(0.2, 0.5)],
          [(0.2, 0.5)] + _arc(0.48, 0.75, 0.32, 0.25, -90, 90) + [(0.2, 1)]],
    "C": [_arc(0.55, 0.5, 0.4, 0.5, -50, -310, 12)],
    "D": [[(0.2, 0), (0.2, 1)], [(0.2, 0)] + _arc(0.35, 0.5, 0.45, 0.5, -90, 90, 12) + [(0.2, 1)]],
    "E": [[(0.8, 0), (0.2, 0), (0.2, 1), (0.8, 1)], [(0.2, 0.5), (0.65, 0.5)]],
    "F": [[(0.8, 0), (0.2, 0), (0.2, 1)], [(0.2, 0.5), (0.65, 0.5)]],
    "G": [_arc(0.55, 0.5, 0.4, 0.5, -50, -330, 12) + [(0.9, 0.55), (0.6, 0.55)]],
    "H": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.8, 1)], [(0.2, 0.5), (0.8, 0.5)]],
    "I": [[(0.5, 0), (0.5, 1)], [(0.3, 0), (0.7, 0)], [(0.3, 1), (0.7, 1)]],
    "J": [[(0.7, 0), (0.7, 0.7)] + _arc(0.45, 0.7, 0.25, 0.3, 0, 180, 8)],
    "K": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.2, 0.55)], [(0.4, 0.4), (0.85, 1)]],
    "L": [[(0.2, 0), (0.2, 1), (0.8, 1)]],
    "M": [[(0.1, 1), (0.15, 0), (0.5, 0.6), (0.85, 0), (0.9, 1)]],
    "N": [[(0.2, 1), (0.2, 0), (0.8, 1), (0.8, 0)]],
    "O": [_arc(0.5, 0.5, 0.38, 0.5, 0, 360, 16)],
    "P": [[(0.2, 1), (0.2, 0)] + _arc(0.45, 0.27, 0.32, 0.27, -90, 90) + [(0.2, 0.54)]],
    "Q": [_arc(0.5, 0.5, 0.38, 0.5, 0, 360, 16), [(0.55, 0.7), (0.9, 1.05)]],
    "R": [[(0.2, 1), (0.2, 0)] + _arc(0.45, 0.27, 0.32, 0.27, -90, 90) + [(0.2, 0.54)], [(0.4, 0.54), (0.85, 1)]],
    "S": [_arc(0.5, 0.25, 0.3, 0.25, -20, -270, 8) + _arc(0.5, 0.75, 0.3, 0.25, -90, 160, 8)],
    "T": [[(0.1, 0), (0.9, 0)], [(0.5, 0), (0.5, 1)]],
    "U": [[(0.2, 0), (0.2, 0.65)] + _arc(0.5, 0.65, 0.3, 0.35, 180, 0, 10) + [(0.8, 0)]],
    "V": [[(0.15, 0), (0.5, 1), (0.85, 0)]],
    "W": [[(0.05, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (0.95, 0)]],
    "X": [[(0.15, 0), (0.85, 1)], [(0.85, 0), (0.15, 1)]],
    "Y": [[(0.15, 0), (0.5, 0.5), (0.85, 0)], [(0.5, 0.5), (0.5, 1)]],
    "Z": [[(0.15, 0), (0.85, 0), (0.15, 1), (0.85, 1)]],
}
# The printed symbols of a cheque's courtesy-amount box.
CHEQUE_SYMBOLS = {
    "$": [_arc(0.5, 0.3, 0.3, 0.2, -20, -270, 8) + _arc(0.5, 0.7, 0.3, 0.2, -90, 160, 8), [(0.5, -0.05), (0.5, 1.05)]],
    "*": [[(0.5, 0.15), (0.5, 0.85)], [(0.2, 0.32), (0.8, 0.68)], [(0.8, 0.32), (0.2, 0.68)]],
    ",": [[(0.55, 0.8), (0.5, 1.0), (0.4, 1.15)]],
    ".": [[(0.5, 0.95)]],
}
_GLYPH_GRID = np.stack(np.mgrid[0:32, 0:32][::-1], -1).reshape(-1, 2) + 0.5   # (x, y) pixel centres


def pen_glyph(strokes, rng, width, rot, scale, shear, shift, wobble, dead=()):
    """A glyph written (or printed) on a 32x32 bitmap, as the UCI optdigits forms were: its strokes
    through a random affine map (rotation U(-rot, rot) degrees, size U(scale), shear U(-shear,
    shear), offset U(-shift, shift) of the box), every point moved by N(0, wobble), a pen of width
    U(width) px, binarised; then the optdigits pre-processing (1 bits counted per 4x4 block, / 16):
    an 8x8 image on the training data's 1/16 grid."""
    th = np.deg2rad(rng.uniform(-rot, rot))
    sc = rng.uniform(*scale)
    sh = rng.uniform(-shear, shear)
    A = sc * 32 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]) @ np.array([[1.0, sh], [0.0, 1.0]])
    c = np.array([16.0, 16.0]) + rng.uniform(-shift, shift, 2) * 32
    w = rng.uniform(*width) / 2
    d = np.full(len(_GLYPH_GRID), np.inf)
    for line in strokes:
        P = np.asarray(line, float) + rng.normal(0, wobble, (len(line), 2))
        P = (P - 0.5) @ A.T + c
        if len(P) == 1:
            P = np.vstack([P, P])
        a, ab = P[:-1], P[1:] - P[:-1]
        t = np.clip(((_GLYPH_GRID[:, None, :] - a[None]) * ab[None]).sum(-1)
                    / np.maximum((ab * ab).sum(-1), 1e-9)[None], 0, 1)
        q = a[None] + t[..., None] * ab[None]
        d = np.minimum(d, np.sqrt(((_GLYPH_GRID[:, None, :] - q) ** 2).sum(-1)).min(1))
    bits = (d <= w).reshape(32, 32)
    if len(dead):   # held out 10: columns of the 32x32 bitmap a printer with dead dots never prints
        bits[:, list(dead)] = False
    return (bits.reshape(SIDE, 4, SIDE, 4).sum(axis=(1, 3)).reshape(D) / 16.0).astype(np.float32)


def bfloat16(x):
    """Values through bfloat16 and back (round to nearest even), as an accelerator pipeline sends
    them."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    u = ((u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    return u.view(np.float32)


def sig6(x):
    """Values printed with C's %g (6 significant digits) and parsed back."""
    return np.asarray([float("%g" % v) for v in np.asarray(x, np.float64).ravel()], np.float32).reshape(np.shape(x))


def sudoku_cell(x, oy, ox, inset, thick, level, gain, rng):
    """One cell of a photographed sudoku grid, cut out by the app after its grid warp, `inset` px
    inside the cell's borders: the cell's digit (or nothing) at `gain`, shifted by the warp's
    residual misalignment (oy, ox) px, and the fragments of the grid lines at the cell's borders
    that the misaligned 8x8 cut still takes in (each border line `thick` px wide: a (top, bottom,
    left, right) tuple, thicker on the 3x3 box borders, at `level`), N(0, 0.02) noise."""
    from scipy.ndimage import shift as subpixel
    a = np.zeros((SIDE, SIDE))
    if x is not None:
        a = subpixel(x.reshape(SIDE, SIDE) * gain, (-oy, -ox), order=1, mode="constant")
    i = np.arange(SIDE, dtype=float)

    def cover(lo, hi):   # how much of each pixel row / column [i, i + 1) the interval covers
        return np.clip(np.minimum(i + 1, hi) - np.maximum(i, lo), 0, 1)
    t, b, l, r = thick
    rows = np.maximum(cover(-inset - t / 2 - oy, -inset + t / 2 - oy),
                      cover(SIDE + inset - b / 2 - oy, SIDE + inset + b / 2 - oy))
    cols = np.maximum(cover(-inset - l / 2 - ox, -inset + l / 2 - ox),
                      cover(SIDE + inset - r / 2 - ox, SIDE + inset + r / 2 - ox))
    lines = level * np.maximum(rows[:, None], cols[None, :])
    a = np.maximum(a, lines) + rng.normal(0, 0.02, (SIDE, SIDE))
    return np.clip(a.reshape(D), 0, 1).astype(np.float32)


def run_benign_heldout9(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout9` (fixed with seeds 9901, 9902, 9903). Each client draws
    from its own seeded generator:
      a persona   sudoku: a sudoku-solver app photographing puzzles: a puzzle of `sudoku_givens`
                    (lo, hi) filled cells (pool digits at gain U(0.8, 1)) among 81; the app cuts
                    each cell U(`sudoku_inset`) px (per client) inside its borders, and its grid
                    warp leaves a residual misalignment (U(-`sudoku_shift`, +) px per axis per
                    client, U(-0.25, 0.25) more per photo), so cells take in fragments of the grid
                    lines at their borders (thin lines U(0.3, 0.6) px, the 3x3 box borders
                    U(0.6, 1.0) px, at level U(0.3, 0.8)), with N(0, 0.02) noise (sudoku_cell);
                    a photo is one batch: all 81 cells (a share `sudoku_all` of
                    clients) or only the cells whose centre holds ink; `sudoku_retake` of photos
                    retake the same puzzle (a new warp, new noise); `sudoku_idle` (lo, hi) idle
                    turns between photos;
                  cascade: an edge / cloud cascade: an on-device model (a logistic regression the
                    vendor distilled from the served model's answers on the client's pool and
                    `cascade_aug` noisy, shifted copies of it) answers the camera captures (pool
                    digits, gain U(0.85, 1.15), N(0, 0.03) noise, a one-pixel shift on 30 %) and
                    only those whose top probability is below the client's threshold
                    (U(`cascade_conf`)) go to the server, queued and sent `cascade_batch` (one of,
                    per client) at a time; a capture kept on the device is an idle turn;
                  loadtest: a load test in the style of Triton's perf_analyzer: one payload made
                    once (uniform random values, all zeros or the first image of the client's pool,
                    by `load_payload`), sent at each batch size of `load_sizes` in turn (the same
                    row repeated), `load_steps` (one of, per client) requests a step, the sweep
                    repeated;
                  lowlight: a camera in low light: photon shot noise (Poisson of `low_photons` (lo,
                    hi, per client) photons at full scale, a dark level U(0, 0.05)), the phone's
                    noise reduction (none, a 3x3 median or a Gaussian blur sigma 0.6, per client),
                    then its auto-exposure (the 98th percentile scaled to 1); `batch_p` batches;
                  dashboard: a BI dashboard that re-scores its whole table on every refresh: a
                    table of `dash_rows` (lo, hi) stored pool images, every refresh all of it sent
                    in pages of `dash_page` (one of, per client), Poisson(`dash_new`) new rows
                    appended between refreshes, `dash_idle` (lo, hi) idle turns between refreshes;
                  screen: photos of digits shown on a screen (remote proctoring, screen sharing):
                    the screen's black level U(`screen_glow`), a moire grating of amplitude
                    U(`screen_moire`) and period U(`screen_period`) px at an angle that drifts
                    between photos, gain U(0.8, 1), N(0, 0.015) noise; `batch_p` batches;
                  synth: a synthetic-data team's quality check: a PCA generator fitted on the
                    client's pool (`synth_k` (one of) components), each request a generated batch
                    of `synth_batch` (one of, per client) samples, the latent N(0, the component
                    variances) times the client's temperature (`synth_temp`, one of), clipped;
                  cheque: a cheque reader's courtesy-amount box: the printed "$", the protective
                    "*" fill up to the box's `cheque_width` (one of) characters, the handwritten
                    amount (pool digits) with a "," every three digits and "." before the cents,
                    every character's crop (printed glyphs through pen_glyph with a printer's tiny
                    variation) in one batch a cheque; `cheque_idle` (lo, hi) idle turns between;
      number      a share `bf16` of clients send bfloat16 values (an accelerator pipeline), a share
      format      `g6` (of the rest) values printed with %g (6 significant digits);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool, transforms of them, empty sudoku cells, printed
    cheque symbols, a load test's payload and PCA samples, in [0, 1]. Every client paces requests
    and rows under the server's default limits (80 req/s, 800 rows/s)."""
    from scipy.ndimage import gaussian_filter, median_filter, shift as subpixel
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas9"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt9 = "bf16" if u < HAB["bf16"] else ("g6" if u < HAB["bf16"] + HAB["g6"] * (1.0 - HAB["bf16"]) else None)
    sud_all = rng.random() < HAB["sudoku_all"]
    sud_base = rng.uniform(-HAB["sudoku_shift"], HAB["sudoku_shift"], 2)
    sud_inset = float(rng.uniform(*HAB["sudoku_inset"]))
    cas_conf = float(rng.uniform(*HAB["cascade_conf"]))
    cas_batch = int(rng.choice(HAB["cascade_batch"]))
    load_kind = pick(rng, HAB["load_payload"])
    load_steps = int(rng.choice(HAB["load_steps"]))
    photons = float(rng.uniform(*HAB["low_photons"]))
    low_nr = str(rng.choice(["none", "median", "gauss"]))
    dash_page = int(rng.choice(HAB["dash_page"]))
    glow = float(rng.uniform(*HAB["screen_glow"]))
    moire = float(rng.uniform(*HAB["screen_moire"]))
    period = float(rng.uniform(*HAB["screen_period"]))
    angle = float(rng.uniform(0, np.pi))
    synth_k = int(rng.choice(HAB["synth_k"]))
    synth_batch = int(rng.choice(HAB["synth_batch"]))
    synth_temp = float(rng.choice(HAB["synth_temp"]))
    cheque_w = int(rng.choice(HAB["cheque_width"]))
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt9 or "float32")
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def n_batch():
        return int(rng.integers(*HAB["batch"])) if rng.random() < HAB["batch_p"] else 1

    def send(rows):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1)
        if fmt9 == "bf16":
            rows = bfloat16(rows)
        elif fmt9 == "g6":
            rows = sig6(rows)
        try:
            query(h, baton, s, rows, scores=True)
        except Refused:
            pass   # a benign client whose request is refused carries on
        done[0] += 1

    def idle(turns):
        for _ in range(turns):
            baton.pass_on(s)

    def sudoku():
        if "puzzle" not in state or rng.random() >= HAB["sudoku_retake"]:
            cells = rng.choice(81, size=int(rng.integers(*HAB["sudoku_givens"])), replace=False)
            state["puzzle"] = {int(c): draw() for c in cells}
            state["thin"] = rng.uniform(0.3, 0.6, (10, 2))     # the grid's 10 lines a direction
            state["thick"] = rng.uniform(0.6, 1.0, (4, 2))     # the box borders (lines 0, 3, 6, 9)
        oy, ox = sud_base + rng.uniform(-0.25, 0.25, 2)
        level = float(rng.uniform(0.3, 0.8))
        gain = float(rng.uniform(0.8, 1.0))
        rows = []

        def w(line, axis):   # a grid line's width (lines 0-9 in each direction)
            return state["thick"][line // 3, axis] if line % 3 == 0 else state["thin"][line, axis]
        for c in range(81):
            r, k = divmod(c, 9)
            x = state["puzzle"].get(c)
            cell = sudoku_cell(x, oy, ox, sud_inset, (w(r, 0), w(r + 1, 0), w(k, 1), w(k + 1, 1)), level, gain, rng)
            if sud_all or cell.reshape(SIDE, SIDE)[2:6, 2:6].sum() > 1.0:
                rows.append(cell)
        if rows:
            send(np.stack(rows))
        idle(int(rng.integers(*HAB["sudoku_idle"])))

    def cascade():
        if "edge" not in state:
            from sklearn.linear_model import LogisticRegression
            aug = [pool] + [np.clip(np.stack([shift(p, rng) if rng.random() < 0.3 else p for p in pool])
                                    + rng.normal(0, 0.03, pool.shape), 0, 1) for _ in range(HAB["cascade_aug"])]
            A = np.concatenate(aug).astype(np.float32)
            state["edge"] = LogisticRegression(max_iter=300).fit(A, victim()(A))
            state["queue"] = []
        i = int(rng.choice(len(pool), p=weights))    # (counted as sent only if it goes to the server)
        x = pool[i] * rng.uniform(0.85, 1.15) + rng.normal(0, 0.03, D)
        if rng.random() < 0.3:
            x = shift(x, rng)
        x = np.clip(x, 0, 1).astype(np.float32)
        if float(state["edge"].predict_proba(x[None]).max()) < cas_conf:
            counts[i] += 1
            state["queue"].append(x)
            if len(state["queue"]) >= cas_batch:
                send(np.stack(state["queue"]))
                state["queue"] = []
                return
        idle(1)

    def loadtest():
        if "payload" not in state:
            state["payload"] = {"random": lambda: rng.uniform(0, 1, D), "zeros": lambda: np.zeros(D),
                                "sample": lambda: pool[0]}[load_kind]().astype(np.float32)
            state["step"] = 0
        sizes = HAB["load_sizes"]
        b = sizes[(state["step"] // load_steps) % len(sizes)]
        state["step"] += 1
        send(np.repeat(state["payload"][None], b, axis=0))

    def lowlight():
        rows = []
        for _ in range(n_batch()):
            dark = rng.uniform(0, 0.05)
            a = rng.poisson(photons * (draw().astype(np.float64) + dark)) / photons
            a = a.reshape(SIDE, SIDE)
            if low_nr == "median":
                a = median_filter(a, size=3, mode="nearest")
            elif low_nr == "gauss":
                a = gaussian_filter(a, 0.6)
            top = float(np.percentile(a, 98))
            rows.append((a / top if top > 1e-6 else a).reshape(D))
        send(np.stack(rows))

    def dashboard():
        if "table" not in state:
            state["table"] = [draw() for _ in range(int(rng.integers(*HAB["dash_rows"])))]
        T = state["table"]
        for j in range(0, len(T), dash_page):
            send(np.stack(T[j:j + dash_page]))
            if done[0] >= n_req:
                return
        T.extend(draw() for _ in range(int(rng.poisson(HAB["dash_new"]))))
        idle(int(rng.integers(*HAB["dash_idle"])))

    def screen():
        nonlocal angle
        rows = []
        yy, xx = np.mgrid[0:SIDE, 0:SIDE]
        for _ in range(n_batch()):
            angle += rng.normal(0, 0.15)
            phase = rng.uniform(0, 2 * np.pi)
            grating = moire * np.sin(2 * np.pi / period * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
            a = glow + (1 - glow) * draw().reshape(SIDE, SIDE) * rng.uniform(0.8, 1.0) + grating
            rows.append((a + rng.normal(0, 0.015, (SIDE, SIDE))).reshape(D))
        send(np.stack(rows))

    def synth():
        if "pca" not in state:
            P = pool.astype(np.float64)
            mu = P.mean(0)
            _, sv, Vt = np.linalg.svd(P - mu, full_matrices=False)
            k = min(synth_k, len(sv))
            state["pca"] = (mu, Vt[:k], sv[:k] / np.sqrt(max(len(P) - 1, 1)))
        mu, V, sd = state["pca"]
        Z = rng.normal(0, 1, (synth_batch, len(sd))) * sd * synth_temp
        send(mu + Z @ V)

    def cheque():
        def printed(ch):
            return pen_glyph(CHEQUE_SYMBOLS[ch], rng, width=(2.6, 3.0), rot=1.0, scale=(0.72, 0.74),
                             shear=0.0, shift=0.02, wobble=0.003)
        cents = int(rng.integers(100, 10 ** int(rng.integers(3, 8))))
        whole, frac = divmod(cents, 100)
        text = f"{whole:,}.{frac:02d}"
        text = "$" + "*" * max(0, cheque_w - 1 - len(text)) + text
        send(np.stack([draw() if ch.isdigit() else printed(ch) for ch in text]))
        idle(int(rng.integers(*HAB["cheque_idle"])))

    units = {"sudoku": sudoku, "cascade": cascade, "loadtest": loadtest, "lowlight": lowlight,
             "dashboard": dashboard, "screen": screen, "synth": synth, "cheque": cheque}
    while done[0] < n_req:
        units[persona]()


# ---------------------------------------------------------------------------------------------
# Held out 10: benign clients with habits none of dev .. heldout9 model (run_benign_heldout10), and
# the printed digits of its receipt reader.
# Digits of a receipt printer's sans font as pen strokes (polylines in a unit box, x right, y down),
# drawn through pen_glyph as the cheque symbols are.
DIGIT_STROKES = {
    "0": [_arc(0.5, 0.5, 0.33, 0.5, 0, 360, 16)],
    "1": [[(0.3, 0.2), (0.55, 0.0), (0.55, 1.0)]],
    "2": [_arc(0.5, 0.3, 0.32, 0.3, 180, 380, 10) + [(0.15, 1.0), (0.85, 1.0)]],
    "3": [[(0.2, 0.0), (0.8, 0.0), (0.45, 0.42)] + _arc(0.5, 0.7, 0.32, 0.28, 270, 500, 10)],
    "4": [[(0.65, 1.0), (0.65, 0.0), (0.1, 0.7), (0.9, 0.7)]],
    "5": [[(0.8, 0.0), (0.25, 0.0), (0.2, 0.45)] + _arc(0.5, 0.68, 0.32, 0.3, 220, 510, 12)],
    "6": [_arc(0.5, 0.7, 0.32, 0.3, 0, 360, 14), [(0.18, 0.7), (0.3, 0.2), (0.7, 0.0)]],
    "7": [[(0.15, 0.0), (0.85, 0.0), (0.4, 1.0)]],
    "8": [_arc(0.5, 0.24, 0.22, 0.24, 0, 360, 12), _arc(0.5, 0.74, 0.3, 0.26, 0, 360, 14)],
    "9": [_arc(0.5, 0.3, 0.32, 0.3, 0, 360, 14), [(0.82, 0.3), (0.82, 1.0)]],
}


def div256(x):
    """8-bit values scaled back by 1/256 instead of 1/255 (a common off-by-one: 255 -> 0.996)."""
    return (np.round(np.clip(np.asarray(x, np.float32), 0, 1) * 255.0) / 256.0).astype(np.float32)


def run_benign_heldout10(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout10` (fixed with seeds 10001, 10002, 10003). Each client
    draws from its own seeded generator:
      a persona   consumer: an at-least-once stream consumer (a Kafka consumer group scoring images
                    an upstream scanner service publishes): each poll returns 1 + Poisson(rate)
                    messages (rate U(`cons_rate`) per client, at most `cons_batch`, one of, per
                    client), pool images as published (gain U(0.9, 1.1), N(0, 0.01) noise), one
                    micro-batch a request; offsets are committed every `cons_commit` (lo, hi, per
                    client) batches; after a batch, with `cons_crash`, the consumer crashes or is
                    rebalanced: `cons_restart` (lo, hi) idle turns, then every uncommitted batch
                    since the last commit is processed again (the same rows, the same batches, in
                    order);
                  microfilm: an archive digitisation job over microfilm reels: a page of
                    `film_page` (lo, hi) pool digits a request; the reel's fading (gain
                    U(`film_gain`), per client), film grain (multiplicative N(1, `film_grain`)
                    plus N(0, 0.02)), the reel's `film_scratches` (lo, hi) vertical scratches at
                    fixed columns (level U(`film_scratch_level`)) on every frame, Poisson
                    (`film_dust`) dust specks a frame; on a share `film_bleed` of pages the
                    mirrored, blurred ink of the reverse side shows through (another pool digit at
                    U(`film_bleed_level`));
                  tearing: a cheap camera module read without vsync (a kiosk or conveyor): each
                    scene a pool digit (gain U(0.85, 1)) held for `tear_hold` (lo, hi) frames, each
                    frame N(0, 0.015) noise; with `tear_stale` the sensor had not refreshed and the
                    previous frame buffer is sent again as it was; at a scene change, with
                    `tear_p`, the first frame is torn (its top 2-6 rows the new scene, the rest the
                    previous frame); `tear_batch` (one of, per client) frames a request;
                  kids: a children's handwriting tutor: the app prompts a digit (the served model's
                    label of a pool digit, computed on the device's copy), the child writes it: a
                    mirror-reversed digit (2, 3, 4, 5, 6, 7, 9) with the child's probability
                    U(`kid_mirror`) (halved on re-tries), written too big (zoom U(`kid_zoom`), the
                    8x8 window at a random offset), with a crayon (a 2x2 max filter, a share
                    `kid_thick` of children), pressed hard (gain U(1, 1.3)); one attempt a request,
                    a wrong answer re-tried (a new attempt at the same digit) up to `kid_tries`
                    attempts; `kid_idle` (lo, hi) idle turns between prompts;
                  privacy: on-device local differential privacy: every image with Laplace noise
                    of scale U(`ldp_scale`) (per client), clipped; `batch_p` batches of `batch`;
                  gallery: a photo-gallery app's auto-tagger: an album of `gal_album` (lo, hi)
                    photos of pool digits (each photographed once: gain U(0.85, 1.1), N(0, 0.02)
                    noise), newest first; the user scrolls forward 1-3, back 1-3 (`gal_back`) or
                    jumps anywhere (`gal_jump`); the app needs tags for the visible `gal_window` and
                    the `gal_prefetch` next photos (one of each, per client) and sends the ones not
                    in its LRU cache of `gal_cache` (lo, hi) entries as one batch (none missing: an
                    idle turn), so photos evicted and scrolled back to are sent again as they were;
                    with `gal_new` a step, and whenever every photo is in the cache, the user takes
                    a new photo (added at the top; in the second case the user goes to the top);
                  receipt: a receipt reader (expense app): a receipt of `rcpt_amounts` (lo, hi)
                    amounts printed right-aligned on a 12-character thermal line (384 dots, 32 a
                    character; DIGIT_STROKES through pen_glyph), the printer's `rcpt_dead` (lo, hi)
                    dead dots (fixed per client) leaving white columns in the characters under
                    them, the paper's fade U(`rcpt_fade`) per receipt; with `rcpt_tip` a handwritten
                    tip (1-2 pool digits); every digit crop of a receipt one batch; `rcpt_idle`
                    (lo, hi) idle turns between receipts;
                  consensus: a labelling queue with consensus: tasks (pool digits as uploaded) in a
                    queue, the tool asks for a pre-label every time a task is opened, a page of
                    `cns_page` (one of, per client) tasks a request; each task is opened by
                    `cns_k` (one of, per client) annotators in turn (back to the end of the queue
                    after each), a skipped task (`cns_skip`) back to the end of the queue too, so
                    every image is sent again, as it was, some requests later; new tasks
                    uploaded when the queue runs short;
      number      a share `div256` of clients scale their 8-bit values by 1/256 (div256);
      format
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool, transforms of them and printed digits, in [0, 1].
    Every client paces requests and rows under the server's default limits (80 req/s, 800 rows/s)."""
    from scipy.ndimage import gaussian_filter, maximum_filter, zoom
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas10"])
    n_req = session_requests(rng)
    d256 = rng.random() < HAB["div256"]
    cons_max = int(rng.choice(HAB["cons_batch"]))
    cons_rate = float(rng.uniform(*HAB["cons_rate"]))
    cons_commit = int(rng.integers(*HAB["cons_commit"]))
    film_gain = float(rng.uniform(*HAB["film_gain"]))
    scratches = [(int(rng.integers(SIDE)), float(rng.uniform(*HAB["film_scratch_level"])))
                 for _ in range(int(rng.integers(*HAB["film_scratches"])))]
    tear_batch = int(rng.choice(HAB["tear_batch"]))
    kid_mirror = float(rng.uniform(*HAB["kid_mirror"]))
    kid_thick = bool(rng.random() < HAB["kid_thick"])
    ldp_b = float(rng.uniform(*HAB["ldp_scale"]))
    gal_size = int(rng.integers(*HAB["gal_album"]))
    gal_cache = int(rng.integers(*HAB["gal_cache"]))
    gal_window = int(rng.choice(HAB["gal_window"]))
    gal_prefetch = int(rng.choice(HAB["gal_prefetch"]))
    dead = [int(v) for v in rng.integers(0, 384, int(rng.integers(*HAB["rcpt_dead"])))]
    cns_k = int(rng.choice(HAB["cns_k"]))
    cns_page = int(rng.choice(HAB["cns_page"]))
    s.meta.update(persona=persona, planned_requests=n_req, number_format="div256" if d256 else "float32")
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def n_batch():
        return int(rng.integers(*HAB["batch"])) if rng.random() < HAB["batch_p"] else 1

    def send(rows):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if d256:
            rows = div256(rows)
        done[0] += 1
        try:
            labels, _ = query(h, baton, s, rows, scores=True)
            return labels
        except Refused:
            return None   # a benign client whose request is refused carries on

    def idle(turns):
        for _ in range(turns):
            baton.pass_on(s)

    def consumer():
        pending = state.setdefault("pending", [])
        m = int(min(cons_max, 1 + rng.poisson(cons_rate)))
        rows = np.stack([np.clip(draw() * rng.uniform(0.9, 1.1) + rng.normal(0, 0.01, D), 0, 1)
                         for _ in range(m)]).astype(np.float32)
        send(rows)
        pending.append(rows)
        if len(pending) >= cons_commit:
            pending.clear()                       # offsets committed
        elif rng.random() < HAB["cons_crash"]:
            idle(int(rng.integers(*HAB["cons_restart"])))
            for r in list(pending):               # re-delivered from the last committed offset
                if done[0] >= n_req:
                    return
                send(r)

    def microfilm():
        rows = []
        bleed = rng.random() < HAB["film_bleed"]
        for _ in range(int(rng.integers(*HAB["film_page"]))):
            a = draw().reshape(SIDE, SIDE).astype(np.float64) * film_gain * rng.uniform(0.9, 1.05)
            a = a * rng.normal(1.0, HAB["film_grain"], (SIDE, SIDE)) + rng.normal(0, 0.02, (SIDE, SIDE))
            if bleed:
                back = gaussian_filter(draw().reshape(SIDE, SIDE)[:, ::-1].astype(np.float64), 0.5)
                a = np.maximum(a, float(rng.uniform(*HAB["film_bleed_level"])) * back)
            for c, level in scratches:
                a[:, c] = np.maximum(a[:, c], level * rng.uniform(0.85, 1.0))
            for _ in range(int(rng.poisson(HAB["film_dust"]))):
                i, j = rng.integers(0, SIDE, 2)
                a[i, j] = max(a[i, j], rng.uniform(0.4, 0.9))
            rows.append(a.reshape(D))
        send(np.stack(rows))

    def frame():
        if state.get("left", 0) <= 0:
            state["scene"] = draw() * rng.uniform(0.85, 1.0)
            state["left"] = int(rng.integers(*HAB["tear_hold"]))
            state["torn"] = "frame" in state and rng.random() < HAB["tear_p"]
            state["fresh"] = True
        state["left"] -= 1
        if "frame" in state and not state["fresh"] and rng.random() < HAB["tear_stale"]:
            return state["frame"].copy()          # the sensor had not refreshed: the same buffer again
        f = np.clip(state["scene"] + rng.normal(0, 0.015, D), 0, 1).astype(np.float32)
        if state["torn"]:
            r = int(rng.integers(2, 7)) * SIDE
            f[r:] = state["frame"][r:]
            state["torn"] = False
        state["fresh"] = False
        state["frame"] = f
        return f.copy()

    def tearing():
        send(np.stack([frame() for _ in range(tear_batch)]))

    def kids():
        if "oracle" not in state:
            state["oracle"] = victim()
        x = draw()
        prompt = int(state["oracle"](x[None])[0])
        for t in range(int(HAB["kid_tries"])):
            a = x.reshape(SIDE, SIDE)
            if prompt in (2, 3, 4, 5, 6, 7, 9) and rng.random() < kid_mirror / (2 ** t):
                a = a[:, ::-1]
            z = float(rng.uniform(*HAB["kid_zoom"]))
            big = zoom(a, z, order=1)
            i, j = (int(rng.integers(0, big.shape[k] - SIDE + 1)) for k in (0, 1))
            a = big[i:i + SIDE, j:j + SIDE]
            if kid_thick:
                a = maximum_filter(a, size=2)
            labels = send((a * rng.uniform(1.0, 1.3)).reshape(D))
            if done[0] >= n_req or (labels is not None and int(labels[0]) == prompt):
                break
        idle(int(rng.integers(*HAB["kid_idle"])))

    def privacy():
        send(np.stack([draw() + rng.laplace(0.0, ldp_b, D) for _ in range(n_batch())]))

    def gallery():
        if "album" not in state:
            state["album"] = []                   # [(photo id, photo)], newest first, as galleries show them
            state["pos"] = 0
            state["cache"] = collections.OrderedDict()
            state["moved"] = False
            for _ in range(gal_size):
                take()
        A, cache = state["album"], state["cache"]
        if rng.random() < HAB["gal_new"]:
            take()                                # a new photo at the top; the view stays where it was
            state["pos"] += 1
        if all(pid in cache for pid, _ in A):
            take()                                # everything browsed: the user takes a new photo and
            state["pos"] = 0                      # goes back to the top to see it
            state["moved"] = False
        if state["moved"]:
            u = rng.random()
            if u < HAB["gal_jump"]:
                state["pos"] = int(rng.integers(len(A)))
            elif u < HAB["gal_jump"] + HAB["gal_back"]:
                state["pos"] = max(0, state["pos"] - int(rng.integers(1, 4)))
            else:
                state["pos"] = min(len(A) - 1, state["pos"] + int(rng.integers(1, 4)))
        state["moved"] = True
        want = A[state["pos"]:state["pos"] + gal_window + gal_prefetch]
        need = [x for pid, x in want if pid not in cache]
        for pid, _ in want:
            cache[pid] = True
            cache.move_to_end(pid)
        while len(cache) > gal_cache:
            cache.popitem(last=False)
        if need:
            send(np.stack(need))
        else:
            idle(1)

    def take():
        x = np.clip(draw() * rng.uniform(0.85, 1.1) + rng.normal(0, 0.02, D), 0, 1).astype(np.float32)
        state["album"].insert(0, (len(state["album"]), x))

    def receipt():
        fade = float(rng.uniform(*HAB["rcpt_fade"]))
        rows = []
        for _ in range(int(rng.integers(*HAB["rcpt_amounts"]))):
            amount = f"{int(rng.integers(0, 10 ** int(rng.integers(1, 4))))}.{int(rng.integers(100)):02d}"
            start = 12 - len(amount)
            for k, ch in enumerate(amount):
                if not ch.isdigit():
                    continue
                col = start + k
                here = [d % 32 for d in dead if d // 32 == col]
                rows.append(pen_glyph(DIGIT_STROKES[ch], rng, width=(2.6, 3.2), rot=0.8, scale=(0.7, 0.74),
                                      shear=0.0, shift=0.02, wobble=0.003, dead=here) * fade)
        if rng.random() < HAB["rcpt_tip"]:
            rows.extend(draw() for _ in range(int(rng.integers(1, 3))))
        send(np.stack(rows))
        idle(int(rng.integers(*HAB["rcpt_idle"])))

    def consensus():
        Q = state.setdefault("queue", collections.deque())
        while len(Q) < 2 * cns_page + 2:
            Q.append([draw(), 0])                 # a new task: [image as uploaded, labels so far]
        page = [Q.popleft() for _ in range(cns_page)]
        send(np.stack([t[0] for t in page]))
        for t in page:
            if rng.random() >= HAB["cns_skip"]:
                t[1] += 1
            if t[1] < cns_k:
                Q.append(t)

    units = {"consumer": consumer, "microfilm": microfilm, "tearing": tearing, "kids": kids,
             "privacy": privacy, "gallery": gallery, "receipt": receipt, "consensus": consensus}
    while done[0] < n_req:
        units[persona]()


# ---------------------------------------------------------------------------------------------
# Held out 11: benign clients with habits none of dev .. heldout10 model (run_benign_heldout11).
# A dot-matrix printer's 5x7 digit font (rows top to bottom, columns left to right).
DOT5X7 = {
    "0": ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    "1": ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    "2": ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    "3": ("11111", "00010", "00100", "00010", "00001", "10001", "01110"),
    "4": ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    "5": ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    "6": ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    "7": ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    "8": ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    "9": ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
}


def fp8_e4m3(x):
    """Values through FP8 E4M3 (3 mantissa bits, bias 7, subnormals from 2^-9; round to nearest
    even) and back, as an FP8 inference pipeline sends them ([0, 1] only)."""
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    e = np.maximum(np.floor(np.log2(np.maximum(x, 1e-30))), -6.0)
    step = 2.0 ** (e - 3)
    return (np.round(x / step) * step).astype(np.float32)


def q7(x):
    """Values as an int8 tensor with scale 1/128 (Q0.7 fixed point: 1.0 saturates at 127/128)."""
    return (np.clip(np.round(np.asarray(x, np.float64) * 128.0), -128, 127) / 128.0).astype(np.float32)


def dot_matrix(ch, rng, ribbon, radius, dead_row):
    """A 5x7 dot-matrix character printed in a 32x32 cell (dot pitch 5.2 px across, 4.2 px down,
    the cell's registration U(-1, 1) px), each dot a disc of `radius` px at the ribbon's ink level
    times N(1, 0.1) (a pin that never fires: `dead_row`), reduced to 8x8 by 4x4 block means."""
    rows = DOT5X7[ch]
    ox, oy = 16.0 - 2 * 5.2 + rng.uniform(-1, 1), 16.0 - 3 * 4.2 + rng.uniform(-1, 1)
    img = np.zeros(len(_GLYPH_GRID))
    for r, line in enumerate(rows):
        if r == dead_row:
            continue
        for c, bit in enumerate(line):
            if bit == "1":
                d = np.hypot(_GLYPH_GRID[:, 0] - (ox + 5.2 * c), _GLYPH_GRID[:, 1] - (oy + 4.2 * r))
                img = np.maximum(img, (d <= radius) * ribbon * rng.normal(1.0, 0.1))
    return img.reshape(32, 32).reshape(SIDE, 4, SIDE, 4).mean(axis=(1, 3)).reshape(D)


def _pil_equalize(a8):
    """PIL's ImageOps.equalize on one 8-bit channel."""
    h = np.bincount(a8.ravel(), minlength=256)
    nz = h[h > 0]
    step = (int(h.sum()) - int(nz[-1])) // 255 if len(nz) else 0
    if not step:
        return a8
    lut = np.zeros(256, np.int64)
    n = step // 2
    for i in range(256):
        lut[i] = min(255, n // step)
        n += int(h[i])
    return lut[a8].astype(np.uint8)


def randaugment_fixmatch(x, rng, n_ops, cutout):
    """FixMatch's strong augmentation (Sohn et al. 2020, the RandAugment pool of the common PyTorch
    reimplementation `fixmatch_augment_pool`) on an 8-bit image: n_ops ops drawn with replacement,
    each with magnitude v = randint(1, 10) and applied with probability 0.5, then CutoutAbs (a
    `cutout` px square at a random centre, filled with grey 127)."""
    from scipy.ndimage import affine_transform, convolve, rotate as nd_rotate
    a = np.round(np.clip(x, 0, 1).reshape(SIDE, SIDE) * 255).astype(np.uint8)
    ops = ("autocontrast", "brightness", "color", "contrast", "equalize", "identity", "posterize",
           "rotate", "sharpness", "shearx", "sheary", "solarize", "translatex", "translatey")
    for _ in range(n_ops):
        op = ops[int(rng.integers(len(ops)))]
        v = int(rng.integers(1, 10))
        if rng.random() >= 0.5:
            continue
        f = a.astype(np.float64)
        sign = -1.0 if rng.random() < 0.5 else 1.0
        if op == "autocontrast":
            lo, hi = f.min(), f.max()
            f = (f - lo) * 255.0 / (hi - lo) if hi > lo else f
        elif op == "brightness":
            f = f * (v * 0.9 / 10 + 0.05)
        elif op == "contrast":
            m = f.mean()
            f = m + (v * 0.9 / 10 + 0.05) * (f - m)
        elif op == "equalize":
            f = _pil_equalize(a).astype(np.float64)
        elif op == "posterize":
            bits = int(v * 4 / 10) + 4
            f = (a & np.uint8((0xFF << (8 - bits)) & 0xFF)).astype(np.float64)
        elif op == "rotate":
            f = nd_rotate(f, sign * int(v * 30 / 10), reshape=False, order=0, mode="constant", cval=0.0)
        elif op == "sharpness":
            k = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], float) / 13.0
            sm = convolve(f, k, mode="nearest")
            f = sm + (v * 0.9 / 10 + 0.05) * (f - sm)
        elif op in ("shearx", "sheary"):
            sh = sign * v * 0.3 / 10
            M = np.array([[1.0, 0.0], [sh, 1.0]]) if op == "shearx" else np.array([[1.0, sh], [0.0, 1.0]])
            f = affine_transform(f, M, order=0, mode="constant", cval=0.0)
        elif op == "solarize":
            t = 256 - int(v * 256 / 10)
            f = np.where(a >= t, 255 - a, a).astype(np.float64)
        elif op in ("translatex", "translatey"):
            d = sign * v * 0.3 / 10 * SIDE
            f = affine_transform(f, np.eye(2), offset=(0.0, d) if op == "translatex" else (d, 0.0),
                                 order=0, mode="constant", cval=0.0)
        a = np.clip(np.round(f), 0, 255).astype(np.uint8)      # "color" and "identity": no change
    cy, cx = rng.uniform(0, SIDE, 2)
    y0, y1 = int(max(0, cy - cutout / 2)), int(min(SIDE, cy + cutout / 2))
    x0, x1 = int(max(0, cx - cutout / 2)), int(min(SIDE, cx + cutout / 2))
    a[y0:y1, x0:x1] = 127
    return (a.astype(np.float32) / 255.0).reshape(D)


def iso6346_check(owner, serial):
    """The ISO 6346 check digit of a container number (owner code + U, six-digit serial)."""
    vals, v = {}, 10
    for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if v % 11 == 0:
            v += 1
        vals[ch] = v
        v += 1
    code = [vals[c] for c in owner + "U"] + [int(c) for c in serial]
    return sum(c * 2 ** i for i, c in enumerate(code)) % 11 % 10


def run_benign_heldout11(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout11` (fixed with seeds 11001, 11002, 11003). Each client
    draws from its own seeded generator:
      a persona   postal: a mail sorter's handwritten-address reader: each envelope's postcode
                    (`post_len` digits, one of, per client: 5, ZIP+4's 9, 4 or 6) written by one
                    sender (pool digits, pen gain U(0.6, 1)) on white paper (tint U(0, 0.03)) or,
                    with `post_tint`, a coloured / kraft envelope (tint U(0.05, 0.2)); with
                    `post_cancel` the postmark's cancellation waves (3 sine lines 3 px apart,
                    amplitude U(0.5, 1.5) px, period U(6, 12) px, level U(0.4, 0.8)) run across the
                    code from a digit in its second half on; one envelope a request (its digits,
                    in order); a tray of `post_tray` (lo, hi) envelopes, then `post_change` (lo,
                    hi) idle turns for the tray change; a low-confidence read goes to a human
                    keyer, never re-sent;
                  randaug: a semi-supervised training job (FixMatch, Sohn et al. 2020) pseudo-
                    labelling its unlabelled set (`ra_unlabelled` (lo, hi) pool digits) with the
                    served model: each step a batch of mu (`ra_mu`, one of, per client) images drawn
                    from the set, sent as their weak views (translation by up to 1 px with reflect
                    padding, as FixMatch's 12.5 %) then their strong views (randaugment_fixmatch:
                    `ra_n` RandAugment ops, Cutout `ra_cutout` px): 2 mu rows a request; the same
                    images come back in later steps with new views;
                  dotmatrix: a dot-matrix printer's output (job tickets and log timestamps): a
                    line is a ticket number (`dm_ticket` (lo, hi) digits) or a YYYYMMDDhhmm time
                    stamp (a clock advancing 0-30 minutes a line), each character a 5x7 dot
                    matrix (dot_matrix; dot radius U(1.7, 2.1) px per client) at the ribbon's ink
                    level (starting U(`dm_ribbon`), worn by U(`dm_wear`) a line, a new ribbon below
                    0.35), with `dm_dead` a pin that never fires (one dot row missing in every
                    character); one line a request; `dm_idle` (lo, hi) idle turns between lines;
                  imputer: a batch scorer reading a CSV export in which U(`imp_rate`) of the pixel
                    values (per client) are missing, and, with `imp_run`, a row lost a run of 4-8
                    consecutive values; the missing values imputed with the export's column mean,
                    zero or column median (`imp_method`, per client; the statistics of the
                    client's whole pool, as a fitted SimpleImputer); pages of `imp_page` (one of,
                    per client) rows a request;
                  watermark: a digital-asset-management system scoring its stored images, each
                    carrying the organisation's invisible watermark (a fixed +-1 pattern on
                    `wm_coeffs` mid-frequency DCT coefficients (zig-zag 10-35), inverse DCT,
                    peak U(`wm_strength`), per client) over the pool digit (gain U(0.9, 1.05),
                    N(0, 0.01)); with `wm_double` an image re-ingested and marked twice;
                    `batch_p` batches of `batch`;
                  drum: a camera retrofitted on a mechanical drum counter (gas / water meter):
                    `drum_n` (lo, hi) drums, each digit the client's printed template (DIGIT_STROKES
                    through pen_glyph, made once: one physical counter); the reading grows by
                    Exp(U(`drum_rate`)) units of the last drum between photos; the last drum is
                    mid-roll by its fractional part (the top of the next digit rising into the
                    window) and a higher drum rolls with it when every lower drum shows 9; photo
                    gain U(`drum_gain`) per client times U(0.95, 1.05), with `drum_glare` a glare
                    ramp across the window, N(0, 0.02) noise; every drum one batch a photo;
                    `drum_idle` (lo, hi) idle turns between photos;
                  stencil: a port gate's OCR of container numbers (ISO 6346: six serial digits
                    and the check digit): stencilled paint (DIGIT_STROKES through pen_glyph, the
                    stencil's bridges as unpainted columns in 0, 4, 6, 8, 9, overspray blur
                    U(0.3, 0.6) px, a few dirt specks), painted once a container on its wall colour
                    U(`sten_bg`) with corrugation (a vertical sine, period U(2.5, 4) px, amplitude
                    U(0.02, 0.08)); read from `sten_sides` (one of, per client) cameras, each side
                    its own lighting (gain U(0.6, 1), N(0, 0.02)) and corrugation phase, one
                    request a side (the 7 digits); `sten_idle` (lo, hi) idle turns between trucks;
                  eink: a shelf-scanning robot auditing e-paper price labels: a store of
                    `eink_shelves` (lo, hi) shelves of `eink_labels` (lo, hi) labels, each a price
                    of 3-4 digits in the labels' font (the client's templates, made once); one
                    shelf a request (every digit of every label), shelf lighting U(0.75, 1), 30 %
                    a glare ramp, N(0, 0.015); after a visit a label's price changes with
                    `eink_change`, leaving a ghost of the old digits (level U(0.08, 0.2), x 0.6 a
                    visit, cleared by a full refresh with `eink_refresh`); the patrol repeats
                    the store after `eink_idle` (lo, hi) idle turns (the same labels again);
      number      a share `fp8` of clients send FP8 E4M3 values (fp8_e4m3), a share `q7` int8
      format      fixed point with scale 1/128 (q7);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool, transforms of them and printed digits, in [0, 1]
    (printed and e-paper digits as the camera's image is inverted to the training data's white-
    on-black). Every client paces requests and rows under the server's default limits."""
    from scipy.fft import idctn
    from scipy.ndimage import gaussian_filter
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas11"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "fp8" if u < HAB["fp8"] else ("q7" if u < HAB["fp8"] + HAB["q7"] else "float32")
    post_len = int(pick(rng, HAB["post_len"]))
    ra_set = int(rng.integers(*HAB["ra_unlabelled"]))
    ra_mu = int(rng.choice(HAB["ra_mu"]))
    dm_dead = int(rng.integers(7)) if rng.random() < HAB["dm_dead"] else -1
    dm_radius = float(rng.uniform(1.7, 2.1))
    dm_wear = float(rng.uniform(*HAB["dm_wear"]))
    imp_rate = float(rng.uniform(*HAB["imp_rate"]))
    imp_method = pick(rng, HAB["imp_method"])
    imp_page = int(rng.choice(HAB["imp_page"]))
    coef = np.zeros(D)
    zz = np.array(_ZIGZAG[10:36])
    coef[rng.choice(zz, HAB["wm_coeffs"], replace=False)] = rng.choice([-1.0, 1.0], HAB["wm_coeffs"])
    wm = idctn(coef.reshape(SIDE, SIDE), norm="ortho").reshape(D)
    wm = wm / np.abs(wm).max() * rng.uniform(*HAB["wm_strength"])
    drum_n = int(rng.integers(*HAB["drum_n"]))
    drum_rate = float(rng.uniform(*HAB["drum_rate"]))
    drum_gain = float(rng.uniform(*HAB["drum_gain"]))
    sten_sides = int(rng.choice(HAB["sten_sides"]))
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def n_batch():
        return int(rng.integers(*HAB["batch"])) if rng.random() < HAB["batch_p"] else 1

    def send(rows):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "fp8":
            rows = fp8_e4m3(rows)
        elif fmt_ == "q7":
            rows = q7(rows)
        done[0] += 1
        try:
            labels, _ = query(h, baton, s, rows, scores=True)
            return labels
        except Refused:
            return None   # a benign client whose request is refused carries on

    def idle(turns):
        for _ in range(turns):
            baton.pass_on(s)

    def templates(width, scale):
        return {d: pen_glyph(DIGIT_STROKES[d], rng, width=width, rot=1.0, scale=scale, shear=0.0,
                             shift=0.02, wobble=0.004) for d in "0123456789"}

    def postal():
        if state.get("tray", 0) <= 0:
            if "tray" in state:
                idle(int(rng.integers(*HAB["post_change"])))
            state["tray"] = int(rng.integers(*HAB["post_tray"]))
        state["tray"] -= 1
        tint = rng.uniform(0.05, 0.2) if rng.random() < HAB["post_tint"] else rng.uniform(0.0, 0.03)
        gain = rng.uniform(0.6, 1.0)
        rows = [tint + (1 - tint) * np.clip(draw() * gain + rng.normal(0, 0.02, D), 0, 1) for _ in range(post_len)]
        if rng.random() < HAB["post_cancel"]:
            amp, per, phase = rng.uniform(0.5, 1.5), rng.uniform(6, 12), rng.uniform(0, 2 * np.pi)
            top, level = rng.uniform(0, 2), rng.uniform(0.4, 0.8)
            yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(float)
            for k in range(int(rng.integers(post_len // 2, post_len)), post_len):
                ink = np.zeros((SIDE, SIDE))
                for line in range(3):
                    yc = top + 3 * line + amp * np.sin(2 * np.pi * (k * SIDE + xx) / per + phase)
                    ink = np.maximum(ink, level * np.clip(1 - np.abs(yy - yc) / 0.8, 0, 1))
                rows[k] = np.maximum(rows[k], ink.reshape(D))
        send(np.stack(rows))

    def randaug():
        if "unl" not in state:
            state["unl"] = [draw() for _ in range(ra_set)]
        U = state["unl"]
        pick_i = rng.choice(len(U), min(ra_mu, len(U)), replace=False)
        weak, strong = [], []
        for i in pick_i:
            a = np.pad(U[i].reshape(SIDE, SIDE), 1, mode="reflect")
            dy, dx = rng.integers(0, 3, 2)
            weak.append(a[dy:dy + SIDE, dx:dx + SIDE].reshape(D))
            strong.append(randaugment_fixmatch(U[i], rng, HAB["ra_n"], HAB["ra_cutout"]))
        send(np.stack(weak + strong))

    def dotmatrix():
        if "ribbon" not in state:
            state["ribbon"] = float(rng.uniform(*HAB["dm_ribbon"]))
            state["clock"] = int(rng.integers(0, 10 ** 6))     # minutes since 2026-01-01
        if rng.random() < 0.5:
            text = "".join(str(int(d)) for d in rng.integers(0, 10, int(rng.integers(*HAB["dm_ticket"]))))
        else:
            state["clock"] += int(rng.integers(0, 31))
            m = state["clock"]
            day = m // 1440
            text = f"2026{1 + (day // 28) % 12:02d}{1 + day % 28:02d}{(m // 60) % 24:02d}{m % 60:02d}"
        send(np.stack([dot_matrix(ch, rng, state["ribbon"], dm_radius, dm_dead)
                       + rng.normal(0, 0.01, D) for ch in text]))
        state["ribbon"] -= dm_wear
        if state["ribbon"] < 0.35:
            state["ribbon"] = 1.0                               # a new ribbon
        idle(int(rng.integers(*HAB["dm_idle"])))

    def imputer():
        if "stat" not in state:
            P = np.asarray(pool, np.float64)
            state["stat"] = {"mean": P.mean(0), "median": np.median(P, 0), "zero": np.zeros(D)}[imp_method]
        rows = []
        for _ in range(imp_page):
            x = draw().astype(np.float64).copy()
            miss = rng.random(D) < imp_rate
            if rng.random() < HAB["imp_run"]:
                n = int(rng.integers(4, 9))
                a = int(rng.integers(0, D - n + 1))
                miss[a:a + n] = True
            x[miss] = state["stat"][miss]
            rows.append(x)
        send(np.stack(rows))

    def watermark():
        rows = []
        for _ in range(n_batch()):
            x = np.clip(draw() * rng.uniform(0.9, 1.05) + rng.normal(0, 0.01, D), 0, 1)
            x = np.clip(x + wm, 0, 1)
            if rng.random() < HAB["wm_double"]:
                x = np.clip(x + wm, 0, 1)
            rows.append(x)
        send(np.stack(rows))

    def drum():
        if "tmpl" not in state:
            state["tmpl"] = templates((2.8, 3.4), (0.72, 0.76))
            state["v"] = float(rng.uniform(0, 10 ** drum_n))
        T = state["tmpl"]
        v = state["v"]
        whole, frac = int(v), v - int(v)
        rows = []
        for k in range(drum_n - 1, -1, -1):                     # left (highest) to right
            d = (whole // 10 ** k) % 10
            rolling = k == 0 or whole % 10 ** k == 10 ** k - 1
            f = frac if rolling else 0.0
            strip = np.vstack([T[str(d)].reshape(SIDE, SIDE), T[str((d + 1) % 10)].reshape(SIDE, SIDE),
                               np.zeros((1, SIDE))])
            r = f * SIDE
            i, w = int(r), r - int(r)
            rows.append(((1 - w) * strip[i:i + SIDE] + w * strip[i + 1:i + 1 + SIDE]).reshape(D))
        rows = np.stack(rows) * drum_gain * rng.uniform(0.95, 1.05)
        if rng.random() < HAB["drum_glare"]:
            ramp = np.linspace(0, rng.uniform(0.05, 0.2), drum_n * SIDE).reshape(drum_n, 1, SIDE)
            rows = rows + np.broadcast_to(ramp, (drum_n, SIDE, SIDE)).reshape(drum_n, D)
        send(rows + rng.normal(0, 0.02, rows.shape))
        state["v"] = (v + rng.exponential(drum_rate)) % (10 ** drum_n)
        idle(int(rng.integers(*HAB["drum_idle"])))

    def stencil():
        owner = "".join(chr(65 + int(c)) for c in rng.integers(0, 26, 3))
        serial = "".join(str(int(c)) for c in rng.integers(0, 10, 6))
        number = serial + str(iso6346_check(owner, serial))
        bg = rng.uniform(*HAB["sten_bg"])
        paint = []
        for ch in number:
            g = pen_glyph(DIGIT_STROKES[ch], rng, width=(3.2, 4.0), rot=2.0, scale=(0.7, 0.8), shear=0.05,
                          shift=0.04, wobble=0.006, dead=(15, 16) if ch in "04689" else ())
            g = gaussian_filter(g.reshape(SIDE, SIDE).astype(np.float64), rng.uniform(0.3, 0.6)).reshape(D)
            for _ in range(int(rng.poisson(1.0))):
                g[int(rng.integers(D))] += rng.uniform(0.1, 0.3)
            paint.append(g)
        paint = np.clip(np.stack(paint), 0, 1)
        per, amp = rng.uniform(2.5, 4.0), rng.uniform(0.02, 0.08)
        xx = np.tile(np.arange(SIDE, dtype=float), SIDE)
        for _ in range(sten_sides):
            gain = rng.uniform(0.6, 1.0)
            wall = bg + amp * np.sin(2 * np.pi * xx / per + rng.uniform(0, 2 * np.pi))
            rows = wall[None] + paint * (gain - bg) + rng.normal(0, 0.02, paint.shape)
            send(rows)
            if done[0] >= n_req:
                return
        idle(int(rng.integers(*HAB["sten_idle"])))

    def eink():
        if "store" not in state:
            state["tmpl"] = templates((2.4, 3.0), (0.7, 0.75))
            state["store"] = [[{"p": str(int(rng.integers(100, 10000 if rng.random() < 0.4 else 1000))),
                                "ghost": None, "g": 0.0}
                               for _ in range(int(rng.integers(*HAB["eink_labels"])))]
                              for _ in range(int(rng.integers(*HAB["eink_shelves"])))]
            state["shelf"] = 0
        T = state["tmpl"]
        shelf = state["store"][state["shelf"]]
        gain = rng.uniform(0.75, 1.0)
        rows = []
        for lab in shelf:
            for k, ch in enumerate(lab["p"]):
                x = T[ch] * gain
                if lab["ghost"] is not None and k < len(lab["ghost"]):
                    x = np.maximum(x, lab["g"] * T[lab["ghost"][k]])
                rows.append(x)
        rows = np.stack(rows)
        if rng.random() < 0.3:
            rows = rows + np.linspace(0, rng.uniform(0.05, 0.15), len(rows))[:, None]
        send(rows + rng.normal(0, 0.015, rows.shape))
        for lab in shelf:
            lab["g"] *= 0.6
            if rng.random() < HAB["eink_refresh"]:
                lab["ghost"], lab["g"] = None, 0.0
            if rng.random() < HAB["eink_change"]:
                lab["ghost"], lab["g"] = lab["p"], float(rng.uniform(0.08, 0.2))
                lab["p"] = str(int(rng.integers(100, 10000 if len(lab["p"]) == 4 else 1000)))
        state["shelf"] += 1
        if state["shelf"] == len(state["store"]):
            state["shelf"] = 0
            idle(int(rng.integers(*HAB["eink_idle"])))

    units = {"postal": postal, "randaug": randaug, "dotmatrix": dotmatrix, "imputer": imputer,
             "watermark": watermark, "drum": drum, "stencil": stencil, "eink": eink}
    while done[0] < n_req:
        units[persona]()


# Held out 12: benign clients with habits none of dev .. heldout11 model (run_benign_heldout12).
# Handwritten arithmetic operators as pen strokes (a unit box, x to the right, y down).
OP_STROKES = {
    "+": [[(0.5, 0.2), (0.5, 0.8)], [(0.2, 0.5), (0.8, 0.5)]],
    "-": [[(0.2, 0.5), (0.8, 0.5)]],
    "x": [[(0.25, 0.25), (0.75, 0.75)], [(0.75, 0.25), (0.25, 0.75)]],
    "=": [[(0.2, 0.38), (0.8, 0.38)], [(0.2, 0.62), (0.8, 0.62)]],
    "(": [_arc(0.75, 0.5, 0.35, 0.5, 120, 240, 8)],
    ")": [_arc(0.25, 0.5, 0.35, 0.5, -60, 60, 8)],
}


def tf32(x):
    """Values through TensorFloat-32 (10 mantissa bits, round to nearest even) and back, as a GPU
    pre-processing pipeline with TF32 math sends them."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    u = ((u + 0xFFF + ((u >> 13) & 1)) & 0xFFFFE000).astype(np.uint32)
    return u.view(np.float32)


def u16(x):
    """Values from a 16-bit greyscale PNG (scaled by 1/65535)."""
    return (np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 65535.0) / 65535.0).astype(np.float32)


def luhn_number(rng, n=16):
    """A card number of n digits (issuer digit 3-6) whose last digit is its Luhn check digit."""
    d = [int(rng.integers(3, 7))] + [int(v) for v in rng.integers(0, 10, n - 2)]
    s = 0
    for i, v in enumerate(reversed(d)):
        if i % 2 == 0:
            v = 2 * v - 9 if 2 * v > 9 else 2 * v
        s += v
    return d + [(10 - s % 10) % 10]


def luhn_ok(digits):
    s = 0
    for i, v in enumerate(reversed([int(v) for v in digits])):
        if i % 2 == 1:
            v = 2 * v - 9 if 2 * v > 9 else 2 * v
        s += v
    return s % 10 == 0


def _shift_img(a, dy, dx):
    """An 8x8 image moved by (dy, dx) whole pixels, zero fill."""
    out = np.zeros_like(a)
    ys, yd = (slice(0, SIDE - dy), slice(dy, SIDE)) if dy >= 0 else (slice(-dy, SIDE), slice(0, SIDE + dy))
    xs, xd = (slice(0, SIDE - dx), slice(dx, SIDE)) if dx >= 0 else (slice(-dx, SIDE), slice(0, SIDE + dx))
    out[yd, xd] = a[ys, xs]
    return out


def _affine8(x, rot=0.0, scale=1.0, sx=1.0):
    """An 8x8 image rotated by `rot` degrees, zoomed by `scale` and squeezed horizontally by `sx`
    (> 1 narrower) about its centre (bilinear, zero fill)."""
    from scipy.ndimage import affine_transform
    th = np.deg2rad(rot)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    M = R @ np.diag([1.0 / scale, sx / scale])           # output (y, x) -> input (y, x)
    c = np.array([(SIDE - 1) / 2.0] * 2)
    a = affine_transform(np.asarray(x, np.float64).reshape(SIDE, SIDE), M, offset=c - M @ c, order=1,
                         mode="constant", cval=0.0)
    return np.clip(a, 0, 1).reshape(D)


def run_benign_heldout12(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout12` (fixed with seeds 12001, 12002, 12003). Each client
    draws from its own seeded generator:
      a persona   hedge: a latency-sensitive client hedging slow requests (Dean & Barroso 2013, The
                    tail at scale): pool digits, `batch_p` batches of `batch`; a request that
                    outlives its deadline (probability U(`hedge_p`) per client) is sent again at
                    once, byte for byte, and the first answer used; with `hedge_timeout` a request
                    times out client-side and is retried after `hedge_wait` (lo, hi) idle turns;
                  cardscan: a payment-card scanner SDK reading embossed card numbers: 16 digits
                    (Luhn-valid) in the client's embossing font (DIGIT_STROKES through pen_glyph,
                    made once), foil ink U(0.5, 0.9) plus a relief highlight (the glyph minus itself
                    moved one pixel towards the light, U(`card_relief`)) on the card's printed design
                    (a low-frequency wave U(`card_bg`)), N(0, 0.02), with `card_blur` hand-shake
                    blur; one frame a request (the 16 digits); a frame whose answer fails the Luhn
                    check is followed by another (new light, design phase, shake) up to
                    `card_frames` (lo, hi) frames, then the user types the number in; `card_idle`
                    (lo, hi) idle turns between cards;
                  bib: a race-photo service tagging finishers by their bib numbers (a number below
                    `bib_field`, one of, per client; the race's bib font made once); each runner
                    photographed by `bib_cams` (lo, hi) photographers, one request a photo (the bib's
                    digits): zoom U(0.85, 1.1), torso tilt U(-8, 8) degrees, the outer digits
                    squeezed by the torso's curve (U(`bib_curve`)), with `bib_crease` a crease
                    across the bib, with `bib_pin` a safety pin over a corner of the first or last
                    digit, paper gain U(0.6, 1), N(0, 0.02); `bib_idle` (lo, hi) idle turns between
                    runners;
                  mathsolver: a homework-helper app photographing a handwritten sum (`math_terms`
                    (lo, hi) numbers of 1-3 digits, operators + - x, 20 % in parentheses, "=",
                    with `math_answer` the pupil's answer after it): every segmented glyph, operators
                    included, in one request (pool digits at the pupil's pen gain, operators through
                    pen_glyph); with `math_reshoot` the same page photographed again (new exposure
                    and noise); `math_idle` (lo, hi) idle turns between sums;
                  etched: a conveyor camera reading laser-etched part serials on brushed metal: the
                    plant's 2-digit prefix and a part counter that goes up by one a part,
                    `etch_len` (lo, hi) digits in all, in a thin laser font (made once); brushed
                    metal as horizontal streaks (U(`etch_streak`)), with `etch_glare` a specular
                    glare spot that washes out the etching under it; one part a request, a fixed
                    cadence of `etch_idle` (one of, per client) idle turns between parts and, with
                    `etch_stop`, a line stop of 20-40;
                  chalk: a lecture-capture system reading a blackboard as it fills: `chalk_new`
                    (lo, hi) digits written between captures (pool digits, chalk grain: a dropout
                    mask fixed when written, pressure U(0.55, 0.95)) over the smudge of earlier
                    erasures (blurred noise, heavier with every erasure); each capture every digit
                    still on the board, one request, with `chalk_occlude` the lecturer hiding a run
                    of them; the board wiped at `chalk_cap` (lo, hi) digits; `chalk_every` (lo, hi)
                    idle turns between captures;
                  lottery: a draw machine's camera reading tumbling numbered balls (1 to
                    `lot_max`, one of, per client; the balls' font made once): a draw of 6 balls
                    (50 %: a bonus ball), each ball shot `lot_shots` (one of, per client) times as it
                    rolls (any orientation, turning by up to `lot_spin` degrees between shots, the
                    digits read left to right as they appear), zoomed U(1, 1.15) by the ball's bulge,
                    a specular highlight, the ball's colour U(0.05, 0.2); one shot a request;
                    `lot_idle` (lo, hi) idle turns between draws;
                  tally: an election office reading polling stations' tally sheets: `tally_boxes`
                    (lo, hi) count boxes a sheet (counts 0-999, one writer a sheet, pool digits),
                    with `tally_fix` a box whose first count is struck through (a line across its
                    digits) and the correct count written beside it, every glyph sent; one sheet a
                    request; piles of `tally_pile` (lo, hi) sheets with `tally_idle` (lo, hi) idle
                    turns between piles;
      number      a share `tf32` of clients send TF32 values (tf32), a share `u16` values of a
      format      16-bit PNG (u16);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool, transforms of them and printed digits, in [0, 1]
    (printed and etched digits as the camera's image is inverted to the training data's white-on-
    black). Every client paces requests and rows under the server's default limits."""
    from scipy.ndimage import gaussian_filter
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas12"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "tf32" if u < HAB["tf32"] else ("u16" if u < HAB["tf32"] + HAB["u16"] else "float32")
    hedge_p = float(rng.uniform(*HAB["hedge_p"]))
    bib_field = int(rng.choice(HAB["bib_field"]))
    bib_cams = int(rng.integers(*HAB["bib_cams"]))
    pen = float(rng.uniform(0.7, 1.0))
    etch_len = int(rng.integers(*HAB["etch_len"]))
    etch_idle = int(rng.integers(*HAB["etch_idle"]))
    chalk_cap = int(rng.integers(*HAB["chalk_cap"]))
    lot_max = int(rng.choice(HAB["lot_max"]))
    lot_shots = int(rng.choice(HAB["lot_shots"]))
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def n_batch():
        return int(rng.integers(*HAB["batch"])) if rng.random() < HAB["batch_p"] else 1

    def send(rows):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "tf32":
            rows = tf32(rows)
        elif fmt_ == "u16":
            rows = u16(rows)
        done[0] += 1
        try:
            labels, _ = query(h, baton, s, rows, scores=True)
            return labels
        except Refused:
            return None   # a benign client whose request is refused carries on

    def idle(turns):
        for _ in range(turns):
            baton.pass_on(s)

    def templates(width, scale):
        return {d: pen_glyph(DIGIT_STROKES[d], rng, width=width, rot=1.0, scale=scale, shear=0.0,
                             shift=0.02, wobble=0.004) for d in "0123456789"}

    def hedge():
        rows = np.stack([np.clip(draw() + rng.normal(0, 0.01, D), 0, 1) for _ in range(n_batch())])
        if rng.random() < HAB["hedge_timeout"]:
            send(rows)                                      # answer too late: dropped
            idle(int(rng.integers(*HAB["hedge_wait"])))
            if done[0] < n_req:
                send(rows)
            return
        send(rows)
        if rng.random() < hedge_p and done[0] < n_req:
            send(rows)                                      # the hedge: the same request again

    def cardscan():
        if "tmpl" not in state:
            state["tmpl"] = templates((2.6, 3.2), (0.7, 0.78))
            state["light"] = (int(rng.choice([-1, 1])), int(rng.choice([-1, 1])))
        T = state["tmpl"]
        number = luhn_number(rng)
        for _ in range(int(rng.integers(*HAB["card_frames"]))):
            ink, relief = rng.uniform(0.5, 0.9), rng.uniform(*HAB["card_relief"])
            bg, per, ph = rng.uniform(*HAB["card_bg"]), rng.uniform(10, 40), rng.uniform(0, 2 * np.pi)
            dy, dx = state["light"]
            xx = np.tile(np.arange(SIDE, dtype=float), SIDE)
            rows = []
            for k, d in enumerate(number):
                g = T[str(d)].reshape(SIDE, SIDE).astype(np.float64)
                r = ink * g + relief * (g - _shift_img(g, dy, dx))
                if rng.random() < HAB["card_blur"]:
                    r = 0.25 * np.roll(r, -1, 1) + 0.5 * r + 0.25 * np.roll(r, 1, 1)
                design = bg * (0.5 + 0.5 * np.sin(2 * np.pi * (k * (SIDE + 2) + xx) / per + ph))
                rows.append(np.clip(r.reshape(D), 0, 1) + design + rng.normal(0, 0.02, D))
            labels = send(np.stack(rows))
            if done[0] >= n_req or (labels is not None and luhn_ok(labels)):
                break
        idle(int(rng.integers(*HAB["card_idle"])))

    def bib():
        if "tmpl" not in state:
            state["tmpl"] = templates((3.4, 4.2), (0.72, 0.8))
        T = state["tmpl"]
        number = str(int(rng.integers(1, bib_field)))
        n = len(number)
        for _ in range(bib_cams):
            zoom, tilt, curve = rng.uniform(0.85, 1.1), rng.uniform(-8, 8), rng.uniform(*HAB["bib_curve"])
            gain = rng.uniform(0.6, 1.0)
            rows = []
            for k, ch in enumerate(number):
                off = (k - (n - 1) / 2) / max(1.0, (n - 1) / 2)
                rows.append(_affine8(T[ch], rot=tilt, scale=zoom, sx=1.0 + curve * off * off) * gain)
            rows = np.stack(rows)
            if rng.random() < HAB["bib_crease"]:
                yy, xx = np.mgrid[0:SIDE, 0:n * SIDE].astype(float)
                a, b, lvl = rng.uniform(-0.3, 0.3), rng.uniform(1, SIDE - 1), rng.uniform(0.1, 0.3)
                line = lvl * np.clip(1 - np.abs(yy - (b + a * (xx - n * SIDE / 2))), 0, 1)
                rows = rows + line.reshape(SIDE, n, SIDE).transpose(1, 0, 2).reshape(n, D)
            if rng.random() < HAB["bib_pin"]:
                k = 0 if rng.random() < 0.5 else n - 1
                a = rows[k].reshape(SIDE, SIDE)
                y0 = 0 if rng.random() < 0.5 else SIDE - 3
                x0 = 0 if k == 0 else SIDE - 3
                a[y0:y0 + 3, x0:x0 + 3] = rng.uniform(0.0, 0.5)
            send(rows + rng.normal(0, 0.02, rows.shape))
            if done[0] >= n_req:
                return
        idle(int(rng.integers(*HAB["bib_idle"])))

    def mathsolver():
        def op(c):
            return pen_glyph(OP_STROKES[c], rng, width=(2.6, 3.4), rot=6.0, scale=(0.6, 0.8), shear=0.1,
                             shift=0.05, wobble=0.01) * pen

        def number():
            return [np.clip(draw() * pen, 0, 1) for _ in range(int(rng.integers(1, 4)))]
        glyphs = []
        terms = int(rng.integers(*HAB["math_terms"]))
        paren = rng.random() < 0.2 and terms >= 3
        for t in range(terms):
            if t:
                glyphs.append(op(str(rng.choice(["+", "-", "x"]))))
            if paren and t == 1:
                glyphs.append(op("("))
            glyphs += number()
            if paren and t == 2:
                glyphs.append(op(")"))
        glyphs.append(op("="))
        if rng.random() < HAB["math_answer"]:
            glyphs += number()
        glyphs = np.stack(glyphs)
        send(glyphs * rng.uniform(0.9, 1.05) + rng.normal(0, 0.02, glyphs.shape))
        if rng.random() < HAB["math_reshoot"] and done[0] < n_req:
            send(glyphs * rng.uniform(0.85, 1.05) + rng.normal(0, 0.02, glyphs.shape))
        idle(int(rng.integers(*HAB["math_idle"])))

    def etched():
        if "tmpl" not in state:
            state["tmpl"] = templates((1.8, 2.4), (0.7, 0.78))
            state["prefix"] = f"{int(rng.integers(10, 100))}"
            state["part"] = int(rng.integers(0, 10 ** (etch_len - 3)))
        T = state["tmpl"]
        serial = state["prefix"] + f"{state['part']:0{etch_len - 2}d}"[-(etch_len - 2):]
        state["part"] += 1
        n = len(serial)
        streak = rng.uniform(*HAB["etch_streak"])
        rowlev = rng.uniform(0.05, 0.15) + streak * rng.normal(0, 1, (SIDE, 1))
        metal = rowlev + 0.3 * streak * rng.normal(0, 1, (SIDE, n * SIDE))
        ink = rng.uniform(0.6, 0.9)
        img = metal + ink * np.hstack([T[ch].reshape(SIDE, SIDE) for ch in serial])
        if rng.random() < HAB["etch_glare"]:
            yy, xx = np.mgrid[0:SIDE, 0:n * SIDE].astype(float)
            cy, cx, sg = rng.uniform(0, SIDE), rng.uniform(0, n * SIDE), rng.uniform(1.5, 3.0)
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sg * sg))
            img = img * (1 - 0.6 * blob) + 0.3 * blob
        rows = img.reshape(SIDE, n, SIDE).transpose(1, 0, 2).reshape(n, D)
        send(rows + rng.normal(0, 0.015, rows.shape))
        idle(etch_idle + (int(rng.integers(20, 41)) if rng.random() < HAB["etch_stop"] else 0))

    def chalk():
        if "board" not in state:
            state["board"], state["smudge"] = [], float(rng.uniform(0.03, 0.08))
        B = state["board"]
        for _ in range(int(rng.integers(*HAB["chalk_new"]))):
            x = draw() * rng.uniform(0.55, 0.95) * (rng.random(D) > rng.uniform(0.05, 0.2))
            sm = gaussian_filter(rng.random((SIDE, SIDE)), 1.2).reshape(D)
            B.append(x + state["smudge"] * sm / max(sm.max(), 1e-6))
        vis = list(range(len(B)))
        if rng.random() < HAB["chalk_occlude"] and len(B) > 2:
            k = int(rng.integers(1, min(3, len(B) - 1) + 1))       # 1-3 hidden, never all
            a = int(rng.integers(0, len(B) - k + 1))
            vis = vis[:a] + vis[a + k:]
        rows = np.stack([B[i] for i in vis]) * rng.uniform(0.95, 1.05)
        send(rows + rng.normal(0, 0.015, rows.shape))
        if len(B) >= chalk_cap:
            state["board"] = []
            state["smudge"] = min(0.3, state["smudge"] + 0.03)
        idle(int(rng.integers(*HAB["chalk_every"])))

    def lottery():
        if "tmpl" not in state:
            state["tmpl"] = templates((3.2, 4.0), (0.68, 0.74))
        T = state["tmpl"]
        balls = rng.choice(np.arange(1, lot_max + 1), 7 if rng.random() < 0.5 else 6, replace=False)
        yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(float)
        for b in balls:
            colour = rng.uniform(0.05, 0.2)
            ang = rng.uniform(-180, 180)
            for _ in range(lot_shots):
                text = str(int(b))
                if abs(ang) > 90:
                    text = text[::-1]                       # upside down: read right to left
                zoom = rng.uniform(1.0, 1.15)
                hy, hx = rng.uniform(1, 3), rng.uniform(1, 3)
                spec = rng.uniform(0.2, 0.5) * np.exp(-((yy - hy) ** 2 + (xx - hx) ** 2) / 1.5).reshape(D)
                rows = np.stack([np.maximum(_affine8(T[ch], rot=ang, scale=zoom) + colour, spec) for ch in text])
                send(rows + rng.normal(0, 0.02, rows.shape))
                if done[0] >= n_req:
                    return
                ang = (ang + rng.uniform(-HAB["lot_spin"], HAB["lot_spin"]) + 180) % 360 - 180
        idle(int(rng.integers(*HAB["lot_idle"])))

    def tally():
        if state.get("pile", 0) <= 0:
            if "pile" in state:
                idle(int(rng.integers(*HAB["tally_idle"])))
            state["pile"] = int(rng.integers(*HAB["tally_pile"]))
        state["pile"] -= 1
        gain, tint = rng.uniform(0.6, 1.0), rng.uniform(0.0, 0.05)

        def count():
            v = int(np.exp(rng.uniform(0, np.log(1000)))) - 1
            return [np.clip(draw() * gain, 0, 1) for _ in str(v)]
        rows = []
        for _ in range(int(rng.integers(*HAB["tally_boxes"]))):
            if rng.random() < HAB["tally_fix"]:
                struck = np.stack(count())
                n = len(struck)
                yy, xx = np.mgrid[0:SIDE, 0:n * SIDE].astype(float)
                a, b = rng.uniform(-0.25, 0.25), rng.uniform(2, SIDE - 2)
                line = rng.uniform(0.6, 0.9) * np.clip(1 - np.abs(yy - (b + a * (xx - n * SIDE / 2))), 0, 1)
                struck = np.maximum(struck, line.reshape(SIDE, n, SIDE).transpose(1, 0, 2).reshape(n, D))
                rows += list(struck)
            rows += count()
        rows = np.stack(rows[:64])
        send(tint + (1 - tint) * rows + rng.normal(0, 0.02, rows.shape))

    units = {"hedge": hedge, "cardscan": cardscan, "bib": bib, "mathsolver": mathsolver, "etched": etched,
             "chalk": chalk, "lottery": lottery, "tally": tally}
    while done[0] < n_req:
        units[persona]()


# Held out 13: benign clients with habits none of dev .. heldout12 model (run_benign_heldout13).
# A legacy terminal's 5x7 bitmap font (rows top to bottom, 5 columns each, "#" lit), as an RPA bot
# reads it off the screen.
TERMINAL_FONT = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
}


def terminal_glyph(ch, oy, ox, level):
    """A character of TERMINAL_FONT in an 8x8 cell at (oy, ox), lit pixels at `level`."""
    a = np.zeros((SIDE, SIDE), np.float32)
    for r, line in enumerate(TERMINAL_FONT[ch]):
        for c, v in enumerate(line):
            if v == "#":
                a[oy + r, ox + c] = level
    return a.reshape(D)


def srgb_linear(x):
    """Values of an 8-bit sRGB image converted to linear light (IEC 61966-2-1), as a pipeline that
    linearises its camera's frames before inference sends them."""
    k = np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 255.0) / 255.0
    return np.where(k <= 0.04045, k / 12.92, ((k + 0.055) / 1.055) ** 2.4).astype(np.float32)


def raw10(x):
    """Values of a 10-bit camera (scaled by 1/1023)."""
    return (np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 1023.0) / 1023.0).astype(np.float32)


def run_benign_heldout13(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout13` (fixed with seeds 13001, 13002, 13003). Each client
    draws from its own seeded generator:
      a persona   scorebug: a sports-data feed reading a basketball broadcast's score bug, one video
                    frame a request: the game clock (M:SS or MM:SS, counting down one second a frame
                    while it runs, stopped for `sb_stop` (lo, hi) frames with probability 0.05 a
                    frame) and both teams' scores (0-150, a basket of 1-3 points with probability
                    `sb_score` a frame), the broadcaster's font rendered pixel-identically every
                    frame (made once) on the bug's background U(0.05, 0.2), every frame through the
                    stream's compression (jpeg_like at the client's quality U(`sb_quality`));
                    with 0.02 a replay hides the bug for 5-20 frames (no request, idle turns);
                  streetview: a mapping pipeline reading house numbers from street-level panoramas:
                    a number (log-uniform 1-9,999) on a plaque (its own font, ink U(0.5, 1),
                    plaque U(0, 0.3), perspective squeeze U(0.8, 1.3), tilt U(-10, 10) degrees); the
                    detector's `sv_props` (lo, hi) overlapping proposals of the plaque (one-pixel
                    offsets, scale U(0.9, 1.1)), every digit of every proposal in one request; with
                    `sv_pair` a second house in the same panorama; `sv_idle` (lo, hi) idle turns
                    between panoramas;
                  rpa: a robotic-process-automation bot scraping a legacy terminal: `rpa_fields`
                    (lo, hi) numeric fields of 3-9 digits in the terminal's 5x7 bitmap font
                    (TERMINAL_FONT, the client's cell offset and phosphor level), the whole screen
                    one request (every digit, at most 64), polled every `rpa_poll` (one of, per
                    client) idle turns; a field changes with `rpa_change` a poll (an increment or
                    a new value); with `rpa_redraw` the poll catches the screen mid-redraw and the
                    fields from one on are blank cells;
                  aimcam: an accessibility app for low-vision users reading a handwritten note or
                    label (1-3 pool digits) while the user aims the phone: the digits enter from an
                    edge (offset 3-5 pixels shrinking by one every 1-2 frames, hand tremor of a
                    pixel), focus hunting (blur sigma from 1.4 down to 0.3, oscillating), auto-exposure
                    settling (gain from U(0.4, 1.6) towards 1), N(0, 0.03); one frame a request until
                    the same answer came `aim_stable` frames in a row (at most `aim_max`), then
                    `aim_idle` (lo, hi) idle turns while it is spoken;
                  collect: a handwriting data-collection kiosk (as the forms behind NIST SD-19 and
                    EMNIST were gathered, but on a tablet): each volunteer writes every digit 0-9
                    `col_reps` (lo, hi) times in order, in their own hand (slant, pen width, size,
                    wobble fixed per writer; DIGIT_STROKES through pen_glyph), each box checked as it
                    is written (one row a request) and written again, up to `col_rewrite` times,
                    when the answer is not the prompted digit; `col_idle` (lo, hi) idle turns between
                    volunteers;
                  busstop: an accessibility app at a bus stop reading the route number on an
                    approaching bus's LED sign: the stop's `bus_routes` (lo, hi) routes (1-3 digits,
                    the operator's LED font made once), every arrival `bus_frames` (lo, hi) frames as
                    the bus comes closer (scale from 0.55 up to 1), LED bloom (blur), rolling-
                    shutter banding (alternate rows dimmed by U(0, 0.4)), one frame a request;
                    `bus_idle` (lo, hi) idle turns between buses;
                  badges: a web crawler writing alt text for images: pages of `badge_sites` (lo, hi)
                    sites (each its own UI font and badge colour U(0.25, 0.5), made once), 1-6
                    notification badges a page (counts 1-99, small counts most common), white digits
                    anti-aliased on the badge; every badge's digits of a page one request (identical
                    badges are identical pixels); with `badge_refetch` the same page fetched again
                    (a URL with another query string); `badge_idle` (lo, hi) idle turns between pages;
                  slates: a classroom-response app photographing a class holding up mini whiteboards:
                    `slate_class` (lo, hi) students (each their own hand, made once), every question
                    an answer 0-20, each student right with the question's ease U(0.4, 0.95), else off
                    by 1-3 or a guess; every slate's glyphs in one request (at most 64 rows), with
                    `slate_retake` the photo taken again; `slate_idle` (lo, hi) idle turns between
                    questions;
      number      a share `srgb` of clients send 8-bit sRGB values converted to linear light
      format      (srgb_linear), a share `raw10` the values of a 10-bit camera (raw10);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool (aimcam), rendered digits and transforms of them, in
    [0, 1] (printed, LED and marker digits as the camera's image is inverted to the training data's
    white-on-black). Every client paces requests and rows under the server's default limits."""
    from scipy.ndimage import gaussian_filter
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas13"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "srgb" if u < HAB["srgb"] else ("raw10" if u < HAB["srgb"] + HAB["raw10"] else "float32")
    rpa_poll = int(rng.choice(HAB["rpa_poll"]))
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def send(rows):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "srgb":
            rows = srgb_linear(rows)
        elif fmt_ == "raw10":
            rows = raw10(rows)
        done[0] += 1
        try:
            labels, _ = query(h, baton, s, rows, scores=True)
            return labels
        except Refused:
            return None   # a benign client whose request is refused carries on

    def idle(turns):
        for _ in range(turns):
            baton.pass_on(s)

    def font(width, scale, rot=1.0, shear=0.0, wobble=0.004):
        return {d: pen_glyph(DIGIT_STROKES[d], rng, width=width, rot=rot, scale=scale, shear=shear,
                             shift=0.02, wobble=wobble) for d in "0123456789"}

    def scorebug():
        if "tmpl" not in state:
            state.update(tmpl=font((2.8, 3.4), (0.7, 0.78)), bg=rng.uniform(0.05, 0.2), ink=rng.uniform(0.75, 1.0),
                         q=int(rng.integers(*HAB["sb_quality"])), clock=int(rng.integers(120, 721)),
                         score=[int(rng.integers(0, 60)), int(rng.integers(0, 60))], stop=0)
        st = state
        if rng.random() < 0.02:
            idle(int(rng.integers(5, 21)))                  # a replay: the bug is hidden
            return
        if st["stop"] > 0:
            st["stop"] -= 1
        elif rng.random() < 0.05:
            st["stop"] = int(rng.integers(*HAB["sb_stop"]))
        else:
            st["clock"] -= 1
            if st["clock"] < 0:
                st["clock"] = 720                         # the next quarter
        if rng.random() < HAB["sb_score"]:
            t = int(rng.integers(2))
            st["score"][t] = min(150, st["score"][t] + int(rng.integers(1, 4)))
        m, sec = divmod(st["clock"], 60)
        text = f"{m}{sec:02d}" + str(st["score"][0]) + str(st["score"][1])
        rows = np.stack([jpeg_like(np.clip(st["bg"] + st["ink"] * st["tmpl"][c], 0, 1), st["q"]) for c in text])
        send(rows)

    def streetview():
        def plaque():
            number = str(int(np.exp(rng.uniform(0, np.log(10000)))))
            w, sc = rng.uniform(2.4, 4.2), rng.uniform(0.62, 0.8)
            glyphs = [pen_glyph(DIGIT_STROKES[c], rng, width=(w, w + 0.2), rot=1.0, scale=(sc, sc + 0.02),
                                shear=0.05, shift=0.02, wobble=0.004) for c in number]
            ink, bg = rng.uniform(0.5, 1.0), rng.uniform(0.0, 0.3)
            sx, tilt = rng.uniform(0.8, 1.3), rng.uniform(-10, 10)
            props = []
            for _ in range(int(rng.integers(*HAB["sv_props"]))):
                zoom, dy, dx = rng.uniform(0.9, 1.1), int(rng.integers(-1, 2)), int(rng.integers(-1, 2))
                for g in glyphs:
                    a = _affine8(g, rot=tilt, scale=zoom, sx=sx).reshape(SIDE, SIDE)
                    props.append(bg + (ink - bg) * _shift_img(a, dy, dx).reshape(D))
            rows = np.stack(props[:64])
            send(rows + rng.normal(0, 0.02, rows.shape))
        plaque()
        if rng.random() < HAB["sv_pair"] and done[0] < n_req:
            plaque()
        idle(int(rng.integers(*HAB["sv_idle"])))

    def rpa():
        if "fields" not in state:
            state.update(oy=int(rng.integers(0, 2)), ox=int(rng.integers(1, 3)), lvl=float(rng.uniform(0.6, 1.0)),
                         fields=[f"{int(rng.integers(0, 10 ** n)):0{n}d}"
                                 for n in rng.integers(3, 10, int(rng.integers(*HAB["rpa_fields"])))])
        F = state["fields"]
        for k, f in enumerate(F):
            if rng.random() < HAB["rpa_change"]:
                n = len(f)
                v = (int(f) + 1) % 10 ** n if rng.random() < 0.5 else int(rng.integers(0, 10 ** n))
                F[k] = f"{v:0{n}d}"
        blank = int(rng.integers(0, len(F))) if rng.random() < HAB["rpa_redraw"] else len(F)
        rows = []
        for k, f in enumerate(F):
            for c in f:
                rows.append(terminal_glyph(c, state["oy"], state["ox"], state["lvl"]) if k < blank
                            else np.zeros(D, np.float32))
        send(np.stack(rows[:64]))
        idle(rpa_poll)

    def aimcam():
        digits = [draw() for _ in range(int(rng.integers(1, 4)))]
        side = int(rng.integers(4))
        off = int(rng.integers(3, 6))
        gain = rng.uniform(0.4, 1.6)
        last, same = None, 0
        for f in range(HAB["aim_max"]):
            dy, dx = [(off, 0), (-off, 0), (0, off), (0, -off)][side]
            dy += int(rng.integers(-1, 2))
            dx += int(rng.integers(-1, 2))
            sig = max(0.3, 1.4 * 0.75 ** f) + 0.3 * abs(np.sin(1.3 * f))
            rows = np.stack([gaussian_filter(_shift_img(d.reshape(SIDE, SIDE), dy, dx), sig).reshape(D) * gain
                             for d in digits])
            labels = send(rows + rng.normal(0, 0.03, rows.shape))
            if done[0] >= n_req:
                return
            key = None if labels is None else tuple(int(v) for v in labels)
            same = same + 1 if key is not None and key == last else 1
            last = key
            if same >= HAB["aim_stable"]:
                break
            if rng.random() < 0.6 and off > 0:
                off -= 1
            gain = 1.0 + 0.7 * (gain - 1.0)
        idle(int(rng.integers(*HAB["aim_idle"])))

    def collect():
        slant, w = rng.uniform(-15, 15), rng.uniform(2.2, 4.4)
        sc, wob, ink = rng.uniform(0.62, 0.8), rng.uniform(0.005, 0.02), rng.uniform(0.8, 1.0)
        reps = int(rng.integers(*HAB["col_reps"]))
        for d in "0123456789":
            for _ in range(reps):
                for _ in range(HAB["col_rewrite"] + 1):
                    g = pen_glyph(DIGIT_STROKES[d], rng, width=(w - 0.3, w + 0.3), rot=4.0, scale=(sc - 0.03, sc + 0.03),
                                  shear=0.05, shift=0.05, wobble=wob)
                    labels = send((_affine8(g, rot=slant) * ink)[None])
                    if done[0] >= n_req:
                        return
                    if labels is not None and int(labels[0]) == int(d):
                        break
                if rng.random() < 0.5:
                    idle(1)
        idle(int(rng.integers(*HAB["col_idle"])))

    def busstop():
        if "tmpl" not in state:
            state.update(tmpl=font((3.0, 3.6), (0.72, 0.8)),
                         routes=[str(int(np.exp(rng.uniform(0, np.log(1000)))))
                                 for _ in range(int(rng.integers(*HAB["bus_routes"])))])
        T = state["tmpl"]
        route = state["routes"][int(rng.integers(len(state["routes"])))]
        n = int(rng.integers(*HAB["bus_frames"]))
        ink = rng.uniform(0.7, 1.0)
        for f in range(n):
            scale = 0.55 + 0.45 * f / max(1, n - 1)
            band = 1.0 - rng.uniform(0.0, 0.4) * ((np.arange(SIDE) + int(rng.integers(2))) % 2)
            rows = np.stack([(gaussian_filter(_affine8(T[c], scale=scale).reshape(SIDE, SIDE), 0.5) * 1.3 * ink
                              * band[:, None]).reshape(D) for c in route])
            send(rows + rng.normal(0, 0.02, rows.shape))
            if done[0] >= n_req:
                return
        idle(int(rng.integers(*HAB["bus_idle"])))

    def badges():
        if "sites" not in state:
            state["sites"] = [dict(tmpl=font((2.6, 3.6), (0.6, 0.72), rot=0.5, wobble=0.002),
                                   colour=float(rng.uniform(0.25, 0.5)), aa=float(rng.uniform(0.3, 0.6)))
                              for _ in range(int(rng.integers(*HAB["badge_sites"])))]
        site = state["sites"][int(rng.integers(len(state["sites"])))]
        rows = []
        for _ in range(int(rng.integers(1, 7))):
            count = min(99, int(np.ceil(rng.pareto(1.2))) or 1)
            for c in str(count):
                g = gaussian_filter(site["tmpl"][c].reshape(SIDE, SIDE).astype(np.float64), site["aa"]).reshape(D)
                rows.append(site["colour"] + (1.0 - site["colour"]) * np.clip(g * 1.6, 0, 1))
        rows = np.stack(rows)
        send(rows)
        if rng.random() < HAB["badge_refetch"] and done[0] < n_req:
            send(rows)
        idle(int(rng.integers(*HAB["badge_idle"])))

    def slates():
        if "students" not in state:
            state["students"] = [dict(slant=rng.uniform(-12, 12), w=rng.uniform(3.0, 5.0), sc=rng.uniform(0.55, 0.8),
                                      bg=rng.uniform(0.0, 0.15), ink=rng.uniform(0.6, 1.0))
                                 for _ in range(int(rng.integers(*HAB["slate_class"])))]
        answer, ease = int(rng.integers(0, 21)), rng.uniform(0.4, 0.95)
        rows = []
        for st in state["students"]:
            a = answer if rng.random() < ease else (
                max(0, answer + int(rng.choice([-3, -2, -1, 1, 2, 3]))) if rng.random() < 0.7 else int(rng.integers(0, 21)))
            for c in str(a):
                g = pen_glyph(DIGIT_STROKES[c], rng, width=(st["w"] - 0.3, st["w"] + 0.3), rot=4.0,
                              scale=(st["sc"] - 0.03, st["sc"] + 0.03), shear=0.05, shift=0.05, wobble=0.015)
                rows.append(st["bg"] + (st["ink"] - st["bg"]) * _affine8(g, rot=st["slant"]))
        rows = np.stack(rows[:64])
        send(rows + rng.normal(0, 0.02, rows.shape))
        if rng.random() < HAB["slate_retake"] and done[0] < n_req:
            send(rows * rng.uniform(0.9, 1.05) + rng.normal(0, 0.02, rows.shape))
        idle(int(rng.integers(*HAB["slate_idle"])))

    units = {"scorebug": scorebug, "streetview": streetview, "rpa": rpa, "aimcam": aimcam, "collect": collect,
             "busstop": busstop, "badges": badges, "slates": slates}
    while done[0] < n_req:
        units[persona]()


# Held out 14: benign clients with habits none of dev .. heldout13 model (run_benign_heldout14).
def tv_range(x):
    """Values of a video capture path that leaves BT.601 / BT.709 limited-range ("studio swing") luma
    unexpanded: 8-bit codes 16-235 divided by 255 (black 0.063, white 0.922)."""
    return ((16.0 + np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 219.0)) / 255.0).astype(np.float32)


def q15(x):
    """Values of a Q15 fixed-point pipeline (a microcontroller's DSP library, k / 32767)."""
    return (np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 32767.0) / 32767.0).astype(np.float32)


def _stroke_paths(strokes, rng, rot, scale, shear, shift, wobble):
    """The strokes of a glyph as polylines on a 32x32 canvas, through a random affine map (as
    pen_glyph's)."""
    th = np.deg2rad(rng.uniform(-rot, rot))
    sc = rng.uniform(*scale)
    sh = rng.uniform(-shear, shear)
    A = sc * 32 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]) @ np.array([[1.0, sh], [0.0, 1.0]])
    c = np.array([16.0, 16.0]) + rng.uniform(-shift, shift, 2) * 32
    out = []
    for line in strokes:
        P = (np.asarray(line, float) + rng.normal(0, wobble, (len(line), 2)) - 0.5) @ A.T + c
        out.append(P if len(P) > 1 else np.vstack([P, P]))
    return out


def pen_dots(strokes, rng, slant, scale, speed, pressure, wobble=0.01):
    """A digit written with a digital pen (Anoto-style dot-pattern paper) and rasterised from the
    pen's samples: the strokes sampled every `speed` px of the 32x32 canvas (fast writing: sparse
    samples), each sample a dot of radius 1 + pressure px at intensity pressure (lighter at the
    start and end of a stroke), the maximum kept, then 4x4 block means to 8x8."""
    paths = _stroke_paths(strokes, rng, rot=3.0, scale=(scale * 0.95, scale * 1.05), shear=0.1, shift=0.04,
                          wobble=wobble)
    img = np.zeros(len(_GLYPH_GRID))
    th = np.deg2rad(slant)
    for P in paths:
        P = (P - 16.0) @ np.array([[1.0, 0.0], [-np.tan(th), 1.0]]).T + 16.0   # slant: x moves with y
        seg = np.linalg.norm(np.diff(P, axis=0), axis=1)
        L = float(seg.sum())
        sp = speed * rng.uniform(0.8, 1.25)
        t = np.arange(rng.uniform(0, sp), max(L, 1e-6), sp) if L > 0 else np.zeros(1)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        pts = np.stack([np.interp(t, cum, P[:, 0]), np.interp(t, cum, P[:, 1])], 1)
        pr = pressure * (0.65 + 0.35 * np.sin(np.pi * np.clip(t / max(L, 1e-6), 0, 1)))
        for p, v in zip(pts, pr):
            d = np.sqrt(((_GLYPH_GRID - p) ** 2).sum(1))
            img = np.maximum(img, v * np.clip(1.0 + v + 0.5 - d, 0, 1))
    return img.reshape(SIDE, 4, SIDE, 4).mean(axis=(1, 3)).reshape(D).astype(np.float32)


def canvas_digit(strokes, rng, brush, scale, shift, smoothing, phase):
    """A digit drawn with the mouse on a web page's canvas (an anti-aliased round brush of `brush`
    px on the 32x32 canvas) and shrunk to 8x8 by the page's drawImage: with image smoothing off, the
    canvas pixel at `phase` in each 4x4 cell (nearest neighbour: thin strokes vanish or alias); with
    low-quality smoothing on, the bilinear value at the cell centre (only the 2x2 pixels about it
    count)."""
    paths = _stroke_paths(strokes, rng, rot=12.0, scale=scale, shear=0.2, shift=shift, wobble=0.02)
    d = np.full(len(_GLYPH_GRID), np.inf)
    for P in paths:
        a, ab = P[:-1], P[1:] - P[:-1]
        t = np.clip(((_GLYPH_GRID[:, None, :] - a[None]) * ab[None]).sum(-1)
                    / np.maximum((ab * ab).sum(-1), 1e-9)[None], 0, 1)
        q = a[None] + t[..., None] * ab[None]
        d = np.minimum(d, np.sqrt(((_GLYPH_GRID[:, None, :] - q) ** 2).sum(-1)).min(1))
    cov = np.clip(brush / 2 + 0.5 - d, 0, 1).reshape(32, 32)
    if not smoothing:
        return cov[phase::4, phase::4].reshape(D).astype(np.float32)
    return cov.reshape(SIDE, 4, SIDE, 4)[:, 1:3, :, 1:3].mean(axis=(1, 3)).reshape(D).astype(np.float32)


def sauvola_doc(a32, k=0.2, win=9, R=0.5):
    """A phone scanner app's black-and-white "document" filter: Sauvola's local threshold
    T = m (1 + k (s / R - 1)) over a win x win window of the paper-polarity image (ink dark), then
    the binary page shrunk to 8x8 by 4x4 block means (ink bright, the training data's polarity)."""
    from scipy.ndimage import uniform_filter
    p = 1.0 - np.clip(a32, 0, 1)
    m = uniform_filter(p, win, mode="reflect")
    sd = np.sqrt(np.maximum(uniform_filter(p * p, win, mode="reflect") - m * m, 0.0))
    ink = p < m * (1.0 + k * (sd / R - 1.0))
    return ink.reshape(SIDE, 4, SIDE, 4).mean(axis=(1, 3)).reshape(D).astype(np.float32)


def _content_rng(pool, tag):
    """A generator every client of a seed derives alike from its image pool (shared content: a bingo
    hall's printer, an upload topic), so clients share inputs without sharing state."""
    return np.random.default_rng(int.from_bytes(hashlib.sha256(np.asarray(pool, np.float32).tobytes()
                                                               + tag.encode()).digest()[:8], "little"))


def run_benign_heldout14(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout14` (fixed with seeds 14001, 14002, 14003). Each client
    draws from its own seeded generator:
      a persona   smartpen: field inspectors writing on forms with a digital pen (Anoto-style), its
                    samples rasterised by the client (pen_dots: dots every `pen_speed` (lo, hi) px,
                    pressure-dependent, the writer's slant and size fixed); the pen stores pages
                    offline and syncs when docked: every page (`pen_digits` (lo, hi) digits) one
                    request, 1-3 pages a sync, with `pen_resync` an interrupted sync sends the
                    same page again, pixel-identical; `pen_idle` (lo, hi) idle turns between syncs;
                  fanout: one of several services consuming an upload topic (an upload event fans
                    out to validation, thumbnailing, indexing and moderation services that each call
                    the model on the same image): 3 topics a pool, each a stream of uploads (a pool
                    digit by popularity, augmented once: the same pixels for every consumer, made by
                    _content_rng); the client joins its topic at an offset U(0, `fan_offset`), has
                    its service's pre-processing (raw, a 1-pixel border crop resized back, an 8-bit
                    PNG, per-image max normalisation) and poll size (one of `fan_poll`), and polls
                    whatever arrived (uploads at `fan_rate` (lo, hi) a turn), every poll one request;
                  forklift: a warehouse's analog CCTV camera on a forklift, digitised by a capture
                    card without de-interlacing, reading bay labels (3-4 printed digits, the
                    warehouse's font made once) as the forklift passes: `fork_frames` (lo, hi)
                    frames a label, the label moving across the frame, the odd lines from the field
                    20 ms later (combing by the motion, 0-2 px), composite-video horizontal blur,
                    noise; with `fork_stop` the forklift stops at the bay (frames without motion);
                    one frame a request;
                  copier: an archive digitising forms that are copies of copies: every document
                    (`copy_digits` (lo, hi) pool digits) through `copy_gens` (lo, hi) photocopier
                    generations (blur, the toner's contrast curve, speckle, misregistration), its
                    digits one request; with `copy_rescan` the operator rescans it in photo mode
                    (gentler contrast), another request; `copy_idle` (lo, hi) idle turns;
                  lpr: a car-park barrier's licence-plate reader sending a plate's digits (3-5, the
                    plate font made once) every frame as the car approaches (`lpr_frames` (lo, hi),
                    scale 0.7 to 1, the camera angle's squeeze, motion blur fading as it slows); day
                    frames (dark on a white plate, inverted) or night infra-red (retro-reflective:
                    high contrast, bloom) by the client's clock; when the last two frames disagree,
                    1-2 re-triggered frames; 0-2 idle turns between cars at rush hour, else
                    `lpr_idle` (lo, hi);
                  bingo: a bingo hall's app auto-daubing players' paper cards: the hall's printer
                    font (2 halls a pool, made by _content_rng: every player of a hall sends the same
                    glyphs), a card's 24 numbers (B 1-15 .. O 61-75) one request per photo of the
                    card (lighting, focus and noise of the photo), 1-3 cards a player, each photo
                    retaken with `bingo_retake` during a game, `bingo_keep` the same cards in the
                    next game; `bingo_game` (lo, hi) idle turns a game;
                  webdemo: a public "draw a digit" demo page (one key for its visitors): each visitor
                    draws 1-6 digits with the mouse (canvas_digit: big, off-centre, the site's brush
                    and its drawImage smoothing and sampling phase), presses Predict (one row a
                    request) 1-3 times, with `demo_fix` adds a stroke and predicts again, with
                    `demo_junk` predicts an empty canvas or a scribble; `demo_idle` (lo, hi) idle
                    turns between visitors;
                  delivery: a courier app photographing door numbers at every stop (1-4 digits:
                    handwritten pool digits or one of the route's plaque fonts) through the phone's
                    document filter (sauvola_doc on a 32x32 photo with uneven light and noise),
                    1-2 photos a stop; with `del_dead` the stop is in a dead zone and its photos are
                    queued and sent with the next stop's in one request; `del_idle` (lo, hi) idle
                    turns (driving) between stops;
      number      a share `tvrange` of clients send limited-range video luma unexpanded (tv_range),
      format      a share `q15` Q15 fixed-point values (q15);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool (fanout, copier, delivery), rendered digits and
    transforms of them, in [0, 1] (printed and photographed digits as the camera's image is
    inverted to the training data's white-on-black). Every client paces requests and rows under
    the server's default limits."""
    from scipy.ndimage import gaussian_filter, gaussian_filter1d, zoom
    from scipy.ndimage import shift as nd_shift
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas14"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "tvrange" if u < HAB["tvrange"] else ("q15" if u < HAB["tvrange"] + HAB["q15"] else "float32")
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def send(rows):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "tvrange":
            rows = tv_range(rows)
        elif fmt_ == "q15":
            rows = q15(rows)
        done[0] += 1
        try:
            labels, _ = query(h, baton, s, rows, scores=True)
            return labels
        except Refused:
            return None   # a benign client whose request is refused carries on

    def idle(turns):
        for _ in range(turns):
            baton.pass_on(s)

    def printed(r, width, scale):
        return {d: pen_glyph(DIGIT_STROKES[d], r, width=width, rot=0.5, scale=scale, shear=0.02, shift=0.01,
                             wobble=0.002) for d in "0123456789"}

    def smartpen():
        if "slant" not in state:
            state.update(slant=rng.uniform(-20, 10), scale=rng.uniform(0.6, 0.85), press=rng.uniform(0.6, 1.0),
                         speed=rng.uniform(*HAB["pen_speed"]))
        for _ in range(int(rng.integers(1, 4))):
            n = int(rng.integers(*HAB["pen_digits"]))
            page = np.stack([pen_dots(DIGIT_STROKES[str(int(rng.integers(10)))], rng, state["slant"], state["scale"],
                                      state["speed"], state["press"] * rng.uniform(0.85, 1.1)) for _ in range(n)])
            send(page)
            if rng.random() < HAB["pen_resync"] and done[0] < n_req:
                send(page)
            if done[0] >= n_req:
                return
        idle(int(rng.integers(*HAB["pen_idle"])))

    def fanout():
        if "topic" not in state:
            topic = int(rng.integers(3))
            state.update(topic=topic, crng=_content_rng(pool, f"fanout/{topic}"), stream=[],
                         at=int(rng.integers(0, HAB["fan_offset"])), backlog=0.0,
                         service=["raw", "thumb", "png", "maxnorm"][int(rng.integers(4))],
                         poll=int(rng.choice(HAB["fan_poll"])), rate=rng.uniform(*HAB["fan_rate"]))
        st = state
        while len(st["stream"]) < st["at"] + st["poll"]:      # the topic's uploads, the same for every consumer
            cr = st["crng"]
            i = int(cr.choice(len(pool), p=weights))
            st["stream"].append((i, augment(pool[i], cr, 0.02)))
        st["backlog"] += rng.poisson(st["rate"])
        k = int(min(st["poll"], st["backlog"]))
        if k == 0:
            idle(1)
            return
        rows = []
        for i, x in st["stream"][st["at"]:st["at"] + k]:
            counts[i] += 1
            if st["service"] == "thumb":
                x = crop_resize(x, 6, 1, 1)
            elif st["service"] == "png":
                x = quant8(x)
            elif st["service"] == "maxnorm":
                x = x / max(float(x.max()), 1e-6)
            rows.append(x)
        st["at"] += k
        st["backlog"] -= k
        send(np.stack(rows))
        idle(int(rng.integers(0, 3)))

    def forklift():
        if "font" not in state:
            state.update(font=printed(rng, (2.6, 3.2), (0.7, 0.78)), bg=rng.uniform(0.0, 0.12),
                         ink=rng.uniform(0.65, 0.95), snr=rng.uniform(0.02, 0.05))
        st = state
        label = "".join(str(int(v)) for v in rng.integers(0, 10, int(rng.integers(3, 5))))
        n = int(rng.integers(*HAB["fork_frames"]))
        stop = rng.random() < HAB["fork_stop"]
        for f in range(n):
            moving = not (stop and n // 3 <= f < n - n // 3)
            dx = int(round(3 - 6 * f / max(1, n - 1))) if moving else 0
            comb = int(rng.integers(1, 3)) if moving else 0
            rows = []
            for c in label:
                a = st["bg"] + (st["ink"] - st["bg"]) * st["font"][c].reshape(SIDE, SIDE)
                even = _shift_img(a, 0, dx)
                odd = _shift_img(a, 0, max(-SIDE + 1, dx - comb))
                fr = even.copy()
                fr[1::2] = odd[1::2]
                fr = gaussian_filter1d(fr, 0.6, axis=1)
                rows.append(fr.reshape(D) + rng.normal(0, st["snr"], D))
            send(np.stack(rows))
            if done[0] >= n_req:
                return
        idle(int(rng.integers(0, 5)))

    def copier():
        n = int(rng.integers(*HAB["copy_digits"]))
        gens = int(rng.integers(*HAB["copy_gens"]))
        docs = np.stack([draw() for _ in range(n)]).reshape(n, SIDE, SIDE).astype(np.float64)

        def copy(a, gain):
            for _ in range(gens):
                a = gaussian_filter(a, (0, 0.35, 0.35))
                a = 1.0 / (1.0 + np.exp(-gain * (a - 0.45)))
                a = (a - 1.0 / (1.0 + np.exp(gain * 0.45))) / (1.0 / (1.0 + np.exp(-gain * 0.55)) - 1.0 / (1.0 + np.exp(gain * 0.45)))
                a = a + (rng.random(a.shape) < 0.01) * rng.uniform(0.3, 0.8, a.shape)
                a = nd_shift(a, (0, rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3)), order=1, mode="constant")
            return np.clip(a, 0, 1).reshape(-1, D)
        send(copy(docs, rng.uniform(6.0, 9.0)))
        if rng.random() < HAB["copy_rescan"] and done[0] < n_req:
            send(copy(docs, rng.uniform(3.5, 5.0)))
        idle(int(rng.integers(*HAB["copy_idle"])))

    def lpr():
        if "font" not in state:
            state.update(font=printed(rng, (3.2, 3.6), (0.78, 0.82)), sx=rng.uniform(1.0, 1.3),
                         clock=rng.uniform(0, 24 * 60), rush=rng.random() < 0.4)
        st = state
        st["clock"] = (st["clock"] + rng.uniform(1, 10)) % (24 * 60)
        night = st["clock"] < 6 * 60 or st["clock"] >= 20 * 60
        plate = "".join(str(int(v)) for v in rng.integers(0, 10, int(rng.integers(3, 6))))
        n = int(rng.integers(*HAB["lpr_frames"]))
        labels_seen = []

        def frame(scale, blur):
            rows = []
            for c in plate:
                a = _affine8(st["font"][c], scale=scale, sx=st["sx"]).reshape(SIDE, SIDE)
                if blur > 0.05:
                    a = gaussian_filter1d(a, blur, axis=1)
                if night:
                    a = np.clip(1.4 * gaussian_filter(a, 0.6), 0, 1)
                else:
                    a = 0.1 + 0.7 * a
                rows.append(a.reshape(D) + rng.normal(0, 0.02, D))
            return np.stack(rows)
        for f in range(n):
            labels_seen.append(send(frame(0.7 + 0.3 * f / max(1, n - 1), 1.2 * (1 - f / max(1, n - 1)))))
            if done[0] >= n_req:
                return
        a, b = labels_seen[-2:] if len(labels_seen) > 1 else (None, None)
        if a is not None and b is not None and not np.array_equal(a, b):
            for _ in range(int(rng.integers(1, 3))):
                send(frame(1.0, 0.0))
                if done[0] >= n_req:
                    return
        idle(int(rng.integers(0, 3)) if st["rush"] else int(rng.integers(*HAB["lpr_idle"])))

    def bingo():
        if "font" not in state:
            hall = int(rng.integers(2))
            cr = _content_rng(pool, f"bingo/{hall}")
            state.update(font=printed(cr, (2.8, 3.2), (0.66, 0.7)), ink=cr.uniform(0.75, 0.95), cards=None)
        st = state
        if st["cards"] is None or rng.random() >= HAB["bingo_keep"]:
            st["cards"] = []
            for _ in range(int(rng.integers(1, 4))):
                nums = []
                for col in range(5):
                    nums += sorted(int(v) for v in rng.choice(np.arange(15 * col + 1, 15 * col + 16), 5 if col != 2 else 4,
                                                              replace=False))
                st["cards"].append("".join(str(v) for v in nums))

        def photo(card):
            gain, blur = rng.uniform(0.7, 1.1), rng.uniform(0.2, 0.7)
            rows = [gaussian_filter(st["font"][c].reshape(SIDE, SIDE) * st["ink"] * gain, blur).reshape(D) for c in card]
            rows = np.stack(rows[:64])
            return rows + rng.normal(0, 0.02, rows.shape)
        for card in st["cards"]:
            send(photo(card))
            if done[0] >= n_req:
                return
        turns = int(rng.integers(*HAB["bingo_game"]))
        for _ in range(turns):
            if rng.random() < HAB["bingo_retake"] / turns * len(st["cards"]):
                send(photo(st["cards"][int(rng.integers(len(st["cards"])))]))
                if done[0] >= n_req:
                    return
            else:
                idle(1)

    def webdemo():
        if "brush" not in state:
            state.update(brush=rng.uniform(2.0, 4.5), smooth=rng.random() < 0.5, phase=int(rng.integers(0, 4)))
        st = state
        for _ in range(int(rng.integers(1, 7))):
            junk = rng.random() < HAB["demo_junk"]
            if junk and rng.random() < 0.5:
                x = np.zeros(D, np.float32)
            elif junk:
                pts = [[tuple(rng.uniform(0.1, 0.9, 2)) for _ in range(int(rng.integers(3, 8)))]]
                x = canvas_digit(pts, rng, st["brush"], (0.6, 1.0), 0.1, st["smooth"], st["phase"])
            else:
                x = canvas_digit(DIGIT_STROKES[str(int(rng.integers(10)))], rng, st["brush"], (0.55, 1.0), 0.15,
                                 st["smooth"], st["phase"])
            for _ in range(int(rng.integers(1, 4))):
                send(x[None])
                if done[0] >= n_req:
                    return
                idle(int(rng.integers(0, 2)))
            if not junk and rng.random() < HAB["demo_fix"]:
                extra = canvas_digit([[tuple(rng.uniform(0.2, 0.8, 2)), tuple(rng.uniform(0.2, 0.8, 2))]], rng,
                                     st["brush"], (0.6, 0.9), 0.1, st["smooth"], st["phase"])
                send(np.maximum(x, extra)[None])
                if done[0] >= n_req:
                    return
        idle(int(rng.integers(*HAB["demo_idle"])))

    def delivery():
        if "fonts" not in state:
            state.update(fonts=[printed(rng, (2.6, 4.0), (0.62, 0.8)) for _ in range(3)], queue=[])
        st = state
        number = "".join(str(int(v)) for v in rng.integers(0, 10, int(rng.integers(1, 5))))
        hand = rng.random() < 0.5
        font = st["fonts"][int(rng.integers(3))]
        glyphs = [draw() if hand else font[c] for c in number]
        rows = []
        for _ in range(int(rng.integers(1, 3))):
            ramp = rng.uniform(0, 0.3) * np.linspace(-1, 1, 32)[None, :] * np.sign(rng.uniform(-1, 1))
            bg, ink = rng.uniform(0.0, 0.2), rng.uniform(0.6, 1.0)
            for g in glyphs:
                a = zoom(g.reshape(SIDE, SIDE).astype(np.float64), 4, order=1, grid_mode=True, mode="nearest")[:32, :32]
                a = bg + (ink - bg) * np.clip(a, 0, 1) + ramp + rng.normal(0, 0.04, (32, 32))
                rows.append(sauvola_doc(a))
        if rng.random() < HAB["del_dead"]:
            st["queue"].extend(rows)
        else:
            rows, st["queue"] = st["queue"] + rows, []
            for k in range(0, len(rows), 64):
                send(np.stack(rows[k:k + 64]))
                if done[0] >= n_req:
                    return
        idle(int(rng.integers(*HAB["del_idle"])))

    units = {"smartpen": smartpen, "fanout": fanout, "forklift": forklift, "copier": copier, "lpr": lpr,
             "bingo": bingo, "webdemo": webdemo, "delivery": delivery}
    while done[0] < n_req:
        units[persona]()


# Held out 15: benign clients with habits none of dev .. heldout14 model (run_benign_heldout15).
def rgb565_luma(x):
    """Values of a grey image through an embedded camera's RGB565 frame (an OV7670 or ESP32-CAM
    module, a 16-bit LCD framebuffer): R and B kept to 5 bits, G to 6, then converted to 8-bit luma as
    OpenCV's cvtColor(COLOR_BGR5652GRAY) does (the channels shifted up without bit replication,
    fixed-point R2Y 4899, G2Y 9617, B2Y 1868 over 2^14, rounded), divided by 255 (white 0.98)."""
    v = np.clip(np.asarray(x, np.float64), 0, 1)
    r8, g8 = np.round(v * 31.0) * 8.0, np.round(v * 63.0) * 4.0
    y = np.floor((4899.0 * r8 + 9617.0 * g8 + 1868.0 * r8 + 8192.0) / 16384.0)
    return (y / 255.0).astype(np.float32)


def gray4(x):
    """Values of a 16-level (4-bit) greyscale image, k / 15: an e-reader's framebuffer or a 4-bit
    greyscale PNG."""
    return (np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 15.0) / 15.0).astype(np.float32)


def _coverage32(paths, width):
    """Anti-aliased coverage of polylines (32x32 canvas coordinates, x right, y down) drawn with a round
    pen of `width` px (a scalar, or one width per segment in path order)."""
    d = np.full(len(_GLYPH_GRID), np.inf)
    ws = np.atleast_1d(np.asarray(width, float))
    k = 0
    cov = np.zeros(len(_GLYPH_GRID))
    for P in paths:
        P = np.asarray(P, float)
        if len(P) == 1:
            P = np.vstack([P, P])
        for a, b in zip(P[:-1], P[1:]):
            ab = b - a
            t = np.clip(((_GLYPH_GRID - a) * ab).sum(-1) / max(float((ab * ab).sum()), 1e-9), 0, 1)
            dist = np.sqrt(((_GLYPH_GRID - (a + t[:, None] * ab)) ** 2).sum(-1))
            w = ws[min(k, len(ws) - 1)]
            cov = np.maximum(cov, np.clip(w / 2 + 0.5 - dist, 0, 1))
            d = np.minimum(d, dist)
            k += 1
    return cov.reshape(32, 32)


def _unit_paths(strokes, scale, sx=1.0, cx=16.0, cy=16.0):
    """Strokes in a unit box (x right, y down) onto the 32x32 canvas: height scale x 32 px, width
    squeezed by sx, centred at (cx, cy)."""
    return [np.stack([(np.asarray(l, float)[:, 0] - 0.5) * scale * sx * 32 + cx,
                      (np.asarray(l, float)[:, 1] - 0.5) * scale * 32 + cy], 1) for l in strokes]


def _down8(a32):
    """A 32x32 image to 8x8 by 4x4 block means."""
    return np.asarray(a32, np.float64).reshape(SIDE, 4, SIDE, 4).mean(axis=(1, 3)).reshape(D).astype(np.float32)


# E-13B-style MICR glyphs (a cheque's code line) as boxy strokes in a unit box: digits, and the transit
# (T), on-us (U) and amount (A) symbols. Drawn with heavy vertical and light horizontal strokes.
MICR_STROKES = {
    "0": [[(0.22, 0.0), (0.78, 0.0), (0.78, 1.0), (0.22, 1.0), (0.22, 0.0)]],
    "1": [[(0.3, 0.0), (0.6, 0.0), (0.6, 1.0)], [(0.32, 0.72), (0.32, 1.0), (0.82, 1.0)]],
    "2": [[(0.22, 0.0), (0.78, 0.0), (0.78, 0.5), (0.22, 0.5), (0.22, 1.0), (0.8, 1.0)]],
    "3": [[(0.2, 0.0), (0.7, 0.0), (0.7, 0.45), (0.38, 0.45)], [(0.38, 0.48), (0.8, 0.48), (0.8, 1.0), (0.2, 1.0)]],
    "4": [[(0.25, 0.0), (0.25, 0.62), (0.85, 0.62)], [(0.66, 0.38), (0.66, 1.0)]],
    "5": [[(0.8, 0.0), (0.24, 0.0), (0.24, 0.46), (0.8, 0.46), (0.8, 1.0), (0.2, 1.0)]],
    "6": [[(0.72, 0.0), (0.22, 0.0), (0.22, 1.0), (0.8, 1.0), (0.8, 0.46), (0.22, 0.46)]],
    "7": [[(0.2, 0.0), (0.8, 0.0), (0.8, 0.32), (0.52, 0.6), (0.52, 1.0)]],
    "8": [[(0.26, 0.0), (0.74, 0.0), (0.74, 0.45), (0.26, 0.45), (0.26, 0.0)],
          [(0.2, 0.48), (0.8, 0.48), (0.8, 1.0), (0.2, 1.0), (0.2, 0.48)]],
    "9": [[(0.8, 0.54), (0.2, 0.54), (0.2, 0.0), (0.8, 0.0), (0.8, 1.0), (0.3, 1.0)]],
    "T": [[(0.25, 0.1), (0.25, 0.9)], [(0.72, 0.12), (0.72, 0.34)], [(0.72, 0.66), (0.72, 0.88)]],
    "U": [[(0.22, 0.1), (0.22, 0.55)], [(0.52, 0.1), (0.52, 0.55)], [(0.8, 0.72), (0.8, 0.92)]],
    "A": [[(0.2, 0.1), (0.2, 0.9)], [(0.5, 0.22), (0.5, 0.38)], [(0.5, 0.62), (0.5, 0.78)], [(0.8, 0.1), (0.8, 0.9)]],
}
# The depth order of a nixie tube's cathode stack, front to back (as the IN-14's).
NIXIE_STACK = "1627504983"


def aba_routing(rng):
    """A US bank routing (ABA) number: a Federal Reserve prefix, 6 digits, and the check digit that
    makes 3 (d1 + d4 + d7) + 7 (d2 + d5 + d8) + (d3 + d6 + d9) a multiple of 10."""
    d = [int(v) for v in f"{int(rng.integers(1, 13)) + (20 if rng.random() < 0.3 else 0):02d}"]
    d += [int(v) for v in rng.integers(0, 10, 6)]
    s = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5]
    return "".join(map(str, d + [(-s) % 10]))


def shap_coalitions(M, nsamples, rng):
    """Coalition masks (n x M, True: the feature from the explained input) as shap's KernelExplainer
    samples them: subset sizes 1 .. ceil((M - 1) / 2) weighted by the Shapley kernel (M - 1) / (s (M - s)),
    each size with its complement M - s; whole sizes enumerated while the remaining budget allows,
    the rest drawn at random by the remaining weights (a subset and its complement), up to `nsamples`."""
    from math import comb
    nsizes = int(np.ceil((M - 1) / 2.0))
    npaired = int(np.floor((M - 1) / 2.0))
    w = np.array([(M - 1.0) / (s * (M - s)) for s in range(1, nsizes + 1)])
    w[:npaired] *= 2
    w /= w.sum()
    masks = []
    left = nsamples
    done_sizes = 0
    rw = w.copy()
    for s in range(1, nsizes + 1):
        n = comb(M, s) * (2 if s <= npaired else 1)
        if left * rw[s - 1] / n >= 1.0 - 1e-8:
            import itertools
            for idx in itertools.combinations(range(M), s):
                m = np.zeros(M, bool)
                m[list(idx)] = True
                masks.append(m)
                if s <= npaired:
                    masks.append(~m)
            left -= n
            done_sizes = s
            if rw[s - 1] < 1:
                rw /= (1 - rw[s - 1])
        else:
            break
    if left > 0 and done_sizes < nsizes:
        p = w[done_sizes:] / w[done_sizes:].sum()
        seen = {m.tobytes() for m in masks}
        tries = 0
        while left > 0 and tries < 50 * nsamples:
            tries += 1
            s = done_sizes + 1 + int(rng.choice(len(p), p=p))
            m = np.zeros(M, bool)
            m[rng.choice(M, s, replace=False)] = True
            if m.tobytes() in seen:
                continue
            seen.add(m.tobytes())
            masks.append(m)
            left -= 1
            if s <= npaired and left > 0:
                masks.append(~m)
                seen.add((~m).tobytes())
                left -= 1
    return np.stack(masks[:nsamples]) if masks else np.zeros((0, M), bool)


def run_benign_heldout15(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout15` (fixed with seeds 15001, 15002, 15003). Each client
    draws from its own seeded generator:
      a persona   proptest: a CI job running a property-based test suite (Hypothesis-style) against
                    the model's endpoint on every push: `pt_suite` (lo, hi) of the properties valid
                    (any array in [0, 1]^64 gets probabilities in [0, 1] summing to 1, label =
                    argmax: arrays drawn as Hypothesis draws them, a constant fill with a few set
                    elements, uniform floats, "nasty" values 0, 1, 0.5, 1/3, the smallest normal and
                    subnormal float32, 1 - 2^-24; explicit examples all-zeros and all-ones first),
                    batch (a batch of 2-8 fixture digits, then each alone: the same labels),
                    determinism (one input twice), brightness (a fixture digit and itself x
                    U(0.9, 1.1): one label, one request of 2 rows) and shift (a fixture digit and
                    itself moved one pixel); fixtures: `pt_fixtures` (lo, hi) pool digits;
                    `pt_examples` (one of, per client: a CI settings profile) examples a property
                    a run; a failing example is shrunk as Hypothesis does (the fixture index towards
                    0, the factor towards 1.0, 0.9, 1.1 and fewer decimals, the shift direction
                    towards 0; arrays towards all zeros, blocks of 16 .. 1 values zeroed, values
                    simplified), each attempt re-run (requests), at most `pt_shrink` (lo, hi)
                    attempts, kept in the example database and replayed first at the next run; with
                    `pt_strict` the valid property compares the float64 sum of the float32
                    probabilities with 1.0 exactly (a test bug, fixed after `pt_fix` (lo, hi) runs);
                    `pt_idle` (lo, hi) idle turns between runs (the next push);
                  staircase: a vision-science lab's "model observer": the served model run through
                    the adaptive staircases used with human observers: a calibration block (the
                    stimulus set, `sc_stim` (lo, hi) pool digits at full contrast, 32 a request; the
                    answers are the reference labels), then `sc_conds` (lo, hi) interleaved
                    staircases (contrast towards mid-grey, x = 0.5 + c (d - 0.5), at fixed noise
                    sigma 0, 0.05 or 0.1, or Gaussian noise sigma at fixed contrast 0.3 or 0.5,
                    fresh noise every trial), an `sc_down`-down-1-up rule (one of) on the log
                    level, steps 0.2, 0.1, 0.05 log units halved at the 2nd and 4th reversals, until
                    `sc_reversals` (lo, hi) reversals or 80 trials; each trial a random stimulus, one
                    row a request; `sc_catch` catch trials at full contrast (a calibration image
                    again, as it was); a break of `sc_break` (lo, hi) idle turns every `sc_block`
                    (lo, hi) trials; a new set of staircases when all are done;
                  gan: a GAN training job scoring its checkpoints with the served classifier (a
                    classifier score, class balance): the generator a PCA decoder of the client's
                    pool (`gan_k` (lo, hi) components) reached with training progress tau = 1 -
                    exp(-checkpoint / T) (T U(`gan_T`) per client) from smooth noise blobs and
                    checkerboard (transposed-convolution) artefacts, tanh output; every checkpoint
                    the fixed-noise grid (the same 64 latents every time, one request) and
                    `gan_batches` (lo, hi) batches of 64 fresh samples; with `gan_collapse` a mode
                    collapse for 1-3 checkpoints (the latents pulled to 1-4 modes); `gan_every` (lo,
                    hi) idle turns between checkpoints (training);
                  kernelshap: SHAP explanations of predictions by shap's KernelExplainer: the
                    background a k-means summary of the client's pool (`ks_bg` (lo, hi) centroids, each
                    value rounded to the nearest value its feature takes, as shap.kmeans does), sent
                    once; features the 64 pixels or, with `ks_super`, the 16 2x2 superpixels (only
                    features where the input differs from some background vary); each explained image
                    (a pool digit) sent, then `ks_nsamples` (one of, per client) coalitions
                    (shap_coalitions) times every centroid (hidden features from the centroid), chunks
                    of `ks_chunk` (one of, per client) rows a request; `ks_idle` (lo, hi) idle turns;
                  splitflap: a station app reading a split-flap (Solari) departure board with a fixed
                    camera: `sf_rows` (lo, hi) departures (HH:MM and a platform of 1-2 flaps, up to
                    `sf_platforms`, one of), the board's flap font (bold, condensed, made once), the
                    flap split line across every cell; every frame all cells, blank flaps included,
                    one request, `sf_poll` (lo, hi) idle turns between frames; the board changes
                    every `sf_update` (lo, hi) frames (the first departure leaves, the rows move up,
                    a new one at the bottom, 30 % a delay) and with `sf_catch` the next frame catches
                    the changed flaps mid-flip (the top half of the next flap over the bottom half
                    of the current one, the flaps cycling through the digits in order);
                  nixie: a webcam logging a lab instrument with a nixie-tube display (a frequency
                    counter, `nx_digits` (lo, hi) tubes): the lit cathode glowing (thin strokes and a
                    halo) in front of the unlit cathodes of the stack (NIXIE_STACK, each deeper one
                    smaller and dimmer), the anode mesh's shadow, with `nx_poison` one tube with a
                    poisoned (patchy) cathode; the reading's last `nx_noisy` (lo, hi) digits change
                    every frame, the rest drift slowly; mains flicker and noise; every frame all tubes,
                    one request, `nx_idle` (lo, hi) idle turns between frames;
                  staffgauge: a river station's camera reading a staff gauge (E pattern, a numeral
                    every 10 cm, the metre numerals in red): the 3-6 numerals above the water, one
                    request a frame, a frame every `sg_every` (one of, per client) idle turns; the
                    lowest numeral cut by the waterline and its reflection below (mirrored, darker,
                    rippled); the level drifting, rising in rain (`sg_rain` a frame to start: rain
                    streaks on the lens) and falling after; night frames infra-red (more contrast,
                    more noise); the gauge's black paint inverted to bright ink;
                  micr: a bank's cheque scanner reading the MICR code line from the 200 dpi bitonal
                    image (routing number with a valid ABA check digit, account, cheque number,
                    and with `mi_amount` the encoded amount field; E-13B-style glyphs, MICR_STROKES,
                    the transit, on-us and amount symbols included): every glyph of a cheque one
                    request; a deposit of `mi_batch` (lo, hi) cheques from the depositor's
                    `mi_payers` (lo, hi) payers (a payer by popularity: the same routing and
                    account again, the cheque number one up), each cheque its own skew, toner and
                    threshold; with `mi_refeed` a cheque fed again (a new scan); `mi_idle` (lo, hi)
                    idle turns between deposits;
      number      a share `rgb565` of clients send their images through an embedded camera's RGB565
      format      frame and OpenCV's 8-bit luma (rgb565_luma), a share `gray4` 16-level greyscale
                  values (gray4);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool (proptest, staircase, kernelshap), generated samples
    (gan), rendered glyphs and transforms of them, in [0, 1] (printed gauge digits inverted to the
    training data's white-on-black). Every client paces requests and rows under the server's default
    limits."""
    from scipy.ndimage import gaussian_filter
    from scipy.ndimage import shift as nd_shift
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas15"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "rgb565" if u < HAB["rgb565"] else ("gray4" if u < HAB["rgb565"] + HAB["gray4"] else "float32")
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def full():
        return done[0] >= n_req

    def send(rows, scores=True):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "rgb565":
            rows = rgb565_luma(rows)
        elif fmt_ == "gray4":
            rows = gray4(rows)
        done[0] += 1
        try:
            return query(h, baton, s, rows, scores=scores)
        except Refused:
            return None, None   # a benign client whose request is refused carries on

    def idle(turns):
        for _ in range(turns):
            baton.pass_on(s)

    def proptest():
        if "suite" not in state:
            props = ["valid", "batch", "determinism", "brightness", "shift"]
            k = int(rng.integers(*HAB["pt_suite"]))
            state.update(suite=[p for p in props if p in set(rng.permutation(props)[:k].tolist())],
                         fixtures=[draw() for _ in range(int(rng.integers(*HAB["pt_fixtures"])))],
                         examples=int(rng.choice(HAB["pt_examples"])), strict=rng.random() < HAB["pt_strict"],
                         fix_after=int(rng.integers(*HAB["pt_fix"])), runs=0, db={})
        st = state
        fx = st["fixtures"]
        nasty = np.array([0.0, 1.0, 0.5, 1.0 / 3.0, 1.1754944e-38, 1.4e-45, 1.0 - 2.0 ** -24], np.float32)

        def moved(x, d):
            a = x.reshape(SIDE, SIDE)
            return _shift_img(a, *((-1, 0), (1, 0), (0, -1), (0, 1))[d]).reshape(D)

        def gen_array():
            v = rng.random()
            if v < 0.35:
                a = np.full(D, nasty[int(rng.integers(len(nasty)))] if rng.random() < 0.6 else rng.random(), np.float32)
                k = int(rng.integers(0, 9))
                idx = rng.choice(D, k, replace=False)
                a[idx] = np.where(rng.random(k) < 0.5, nasty[rng.integers(len(nasty), size=k)], rng.random(k))
                return a
            if v < 0.7:
                return rng.random(D).astype(np.float32)
            if v < 0.85:
                return nasty[rng.integers(len(nasty), size=D)]
            return (rng.integers(0, 9, D) / 8.0).astype(np.float32)     # "simple" floats, few mantissa bits

        def fails(prop, ex):
            """Run one example of a property (its requests); True if it fails."""
            if prop == "valid":
                _, p = send(ex[None])
                if p is None:
                    return False
                total = float(np.sum(p[0].astype(np.float64)))
                return (total != 1.0) if (st["strict"] and st["runs"] < st["fix_after"]) else abs(total - 1.0) > 1e-5
            if prop == "batch":
                rows = np.stack([fx[i] for i in ex])
                lab, _ = send(rows)
                for r in rows:
                    if full():
                        break
                    send(r[None])
                return False
            if prop == "determinism":
                x = fx[ex] if isinstance(ex, int) else ex
                send(x[None])
                if not full():
                    send(x[None])
                return False
            i, t = ex
            x = fx[i]
            y = np.clip(x * t, 0, 1) if prop == "brightness" else moved(x, int(t))
            lab, _ = send(np.stack([x, y]))
            return lab is not None and lab[0] != lab[1]

        def shrink(prop, ex):
            budget = [int(rng.integers(*HAB["pt_shrink"]))]

            def still(c):
                if budget[0] <= 0 or full():
                    return False
                budget[0] -= 1
                return fails(prop, c)
            if prop == "valid":
                z = np.zeros(D, np.float32)
                if still(z):
                    return z
                for b in (16, 8, 4, 2, 1):
                    for k in range(0, D, b):
                        if np.all(ex[k:k + b] == 0):
                            continue
                        c = ex.copy()
                        c[k:k + b] = 0
                        if still(c):
                            ex = c
                for k in np.flatnonzero(ex):
                    for v in (1.0, 0.5, float(np.round(ex[k], 1))):
                        if v == ex[k]:
                            continue
                        c = ex.copy()
                        c[k] = v
                        if still(c):
                            ex = c
                            break
                return ex
            i, t = ex
            improved = True
            while improved and budget[0] > 0 and not full():
                improved = False
                for j in sorted({0, i // 2, i - 1} - {i}):
                    if 0 <= j < i and still((j, t)):
                        i, improved = j, True
                        break
                if prop == "brightness":
                    cands = [1.0, 0.9, 1.1, round(t, 1), round(t, 2)]
                else:
                    cands = list(range(int(t)))
                for c in cands:
                    if c != t and still((i, c)):
                        t, improved = c, True
                        break
            return (i, t)

        for prop in st["suite"]:
            if full():
                return
            if prop in st["db"]:
                ex = st["db"][prop]
                if fails(prop, ex):
                    st["db"][prop] = shrink(prop, ex)
                    continue
                del st["db"][prop]
            explicit = [np.zeros(D, np.float32), np.ones(D, np.float32)] if prop == "valid" else []
            for n in range(st["examples"]):
                if full():
                    return
                if n < len(explicit):
                    ex = explicit[n]
                elif prop == "valid":
                    ex = gen_array()
                elif prop == "batch":
                    ex = [int(v) for v in rng.integers(0, len(fx), int(rng.integers(2, 9)))]
                elif prop == "determinism":
                    ex = int(rng.integers(len(fx))) if rng.random() < 0.5 else gen_array()
                elif prop == "brightness":
                    ex = (int(rng.integers(len(fx))), float(rng.uniform(0.9, 1.1)))
                else:
                    ex = (int(rng.integers(len(fx))), int(rng.integers(4)))
                if fails(prop, ex):
                    st["db"][prop] = shrink(prop, ex)
                    break
        st["runs"] += 1
        idle(int(rng.integers(*HAB["pt_idle"])))

    def staircase():
        st = state
        if "stims" not in st:
            stims = np.stack([draw() for _ in range(int(rng.integers(*HAB["sc_stim"])))])
            refs = []
            for k in range(0, len(stims), 32):
                lab, _ = send(stims[k:k + 32], scores=False)
                refs.extend(lab.tolist() if lab is not None else [-1] * len(stims[k:k + 32]))
                if full():
                    return
            st.update(stims=stims, refs=np.asarray(refs), stairs=[], trials=0,
                      block=int(rng.integers(*HAB["sc_block"])))
        if not [q for q in st["stairs"] if not q["done"]]:
            conds = [("contrast", 0.0), ("contrast", 0.05), ("contrast", 0.1), ("noise", 0.3), ("noise", 0.5)]
            pick_ = rng.permutation(len(conds))[:int(rng.integers(*HAB["sc_conds"]))]
            st["stairs"] = [dict(kind=conds[i][0], fixed=conds[i][1], down=int(rng.choice(HAB["sc_down"])),
                                 level=0.0 if conds[i][0] == "contrast" else -1.7, step=0.2, run=0, last=0,
                                 reversals=0, trials=0, done=False,
                                 target=int(rng.integers(*HAB["sc_reversals"]))) for i in pick_]
        active = [q for q in st["stairs"] if not q["done"]]
        q = active[int(rng.integers(len(active)))]
        k = int(rng.integers(len(st["stims"])))
        d = st["stims"][k]
        if rng.random() < HAB["sc_catch"]:
            send(d[None], scores=False)
        else:
            if q["kind"] == "contrast":
                c, sigma = 10.0 ** q["level"], q["fixed"]
            else:
                c, sigma = q["fixed"], 10.0 ** q["level"]
            x = 0.5 + c * (d - 0.5) + (rng.normal(0, sigma, D) if sigma > 0 else 0.0)
            lab, _ = send(x[None], scores=False)
            correct = lab is not None and int(lab[0]) == int(st["refs"][k])
            q["trials"] += 1
            move = 0
            if correct:
                q["run"] += 1
                if q["run"] >= q["down"]:
                    q["run"], move = 0, -1          # harder
            else:
                q["run"], move = 0, 1               # easier
            if move:
                if q["last"] and move != q["last"]:
                    q["reversals"] += 1
                    if q["reversals"] in (2, 4):
                        q["step"] = max(0.05, q["step"] / 2)
                q["last"] = move
                sgn = 1 if q["kind"] == "contrast" else -1
                q["level"] += sgn * move * q["step"]
                q["level"] = float(np.clip(q["level"], -2.5, 0.0) if q["kind"] == "contrast"
                                   else np.clip(q["level"], -2.0, -0.3))
            if q["reversals"] >= q["target"] or q["trials"] >= 80:
                q["done"] = True
        st["trials"] += 1
        if st["trials"] % st["block"] == 0:
            idle(int(rng.integers(*HAB["sc_break"])))

    def gan():
        st = state
        if "comps" not in st:
            P = np.asarray(pool, np.float64)
            mu = P.mean(0)
            _, sv, Vt = np.linalg.svd(P - mu, full_matrices=False)
            k = int(min(rng.integers(*HAB["gan_k"]), len(P) - 1))
            var = (sv[:k] ** 2) / max(len(P) - 1, 1)
            Rb = np.stack([gaussian_filter(rng.normal(0, 1, (SIDE, SIDE)), 1.2).reshape(D) for _ in range(k)])
            Rb /= np.maximum(Rb.std(axis=1, keepdims=True), 1e-9) * np.sqrt(k)
            st.update(mu=mu, comps=Vt[:k], sd=np.sqrt(var), Rb=Rb * 1.5, k=k, ckpt=0,
                      T=rng.uniform(*HAB["gan_T"]), fixed=rng.normal(0, 1, (64, k)), collapse=0, modes=None,
                      chk=np.fromfunction(lambda i, j: ((i + j) % 2) * 2.0 - 1.0, (SIDE, SIDE)).reshape(D))

        def gen(z, tau):
            if st["collapse"] > 0:
                z = st["modes"][np.arange(len(z)) % len(st["modes"])] + 0.05 * z
            real = st["mu"] + (z * st["sd"]) @ st["comps"]
            blob = np.tanh(z @ st["Rb"])
            art = (1 - tau) ** 2 * 0.6 * st["chk"] * np.tanh(z[:, :1])
            a = tau * (2 * real - 1) + (1 - tau) * blob + art
            return ((np.tanh(1.5 * a) + 1) / 2).astype(np.float32)
        st["ckpt"] += 1
        if st["collapse"] > 0:
            st["collapse"] -= 1
        elif rng.random() < HAB["gan_collapse"]:
            st["collapse"] = int(rng.integers(1, 4))
            st["modes"] = rng.normal(0, 1, (int(rng.integers(1, 5)), st["k"]))
        tau = float(np.clip(1 - np.exp(-st["ckpt"] / st["T"]) - rng.uniform(0, 0.05), 0, 1))
        send(gen(st["fixed"], tau))
        for _ in range(int(rng.integers(*HAB["gan_batches"]))):
            if full():
                return
            send(gen(rng.normal(0, 1, (64, st["k"])), tau))
        idle(int(rng.integers(*HAB["gan_every"])))

    def kernelshap():
        st = state
        if "bg" not in st:
            from sklearn.cluster import KMeans
            P = np.asarray(pool, np.float64)
            K = int(min(rng.integers(*HAB["ks_bg"]), len(P)))
            km = KMeans(n_clusters=K, n_init=1, random_state=int(rng.integers(2 ** 31 - 1))).fit(P)
            C = km.cluster_centers_.copy()
            for j in range(D):       # shap.kmeans(round_values=True): each value the nearest its feature takes
                vals = np.unique(P[:, j])
                C[:, j] = vals[np.abs(vals[None, :] - C[:, j][:, None]).argmin(1)]
            st.update(bg=C.astype(np.float32), superpix=rng.random() < HAB["ks_super"],
                      nsamples=int(rng.choice(HAB["ks_nsamples"])), chunk=int(rng.choice(HAB["ks_chunk"])))
            send(st["bg"])                                 # KernelExplainer(f, background) evaluates it once
            if full():
                return
        x = draw()
        send(x[None])                                      # explain(x): f(x) first
        if full():
            return
        bg = st["bg"]
        groups = ([[r * SIDE + c, r * SIDE + c + 1, (r + 1) * SIDE + c, (r + 1) * SIDE + c + 1]
                   for r in range(0, SIDE, 2) for c in range(0, SIDE, 2)] if st["superpix"] else [[j] for j in range(D)])
        varying = [g for g in groups if not np.all(np.isclose(bg[:, g], x[g][None, :]))]
        if len(varying) < 2:
            idle(1)
            return
        masks = shap_coalitions(len(varying), st["nsamples"], rng)
        rows = []
        for m in masks:
            on = np.zeros(D, bool)
            for g, keep in zip(varying, m):
                if keep:
                    on[g] = True
            for b in bg:
                rows.append(np.where(on, x, b))
        rows = np.asarray(rows, np.float32)
        for k in range(0, len(rows), st["chunk"]):
            send(rows[k:k + st["chunk"]])
            if full():
                return
        idle(int(rng.integers(*HAB["ks_idle"])))

    def splitflap():
        st = state
        if "font" not in st:
            width, scale, sx = rng.uniform(3.8, 5.0), rng.uniform(0.66, 0.74), rng.uniform(0.8, 0.9)
            st["font"] = {c: _coverage32(_unit_paths(DIGIT_STROKES[c], scale, sx), width) for c in "0123456789"}
            st["font"][" "] = np.zeros((32, 32))
            nrows = int(rng.integers(*HAB["sf_rows"]))
            pmax = int(rng.choice(HAB["sf_platforms"]))
            st.update(pmax=pmax, clock=int(rng.integers(5 * 60, 22 * 60)), frames=0, until=int(rng.integers(*HAB["sf_update"])),
                      light=rng.uniform(0.7, 1.0, nrows), flipping=None)
            t = st["clock"]
            deps = []
            for _ in range(nrows):
                t += int(rng.integers(2, 16))
                deps.append((t, int(rng.integers(1, pmax + 1))))
            st["deps"] = deps
            st["shown"] = None

        def cells(deps):
            out = []
            for t, p in deps:
                hh, mm = (t // 60) % 24, t % 60
                out += list(f"{hh:02d}{mm:02d}") + list(f"{p:>2d}")
            return out

        def render(chars, nxt=None):
            rows = []
            for n, c in enumerate(chars):
                a = st["font"][c]
                if nxt is not None and nxt[n] is not None:
                    a = np.vstack([st["font"][nxt[n]][:16], a[16:]])
                a = a.copy()
                a[15:17] *= 0.15                      # the split between the upper and lower flaps
                a = a * st["light"][n // 6] + 0.04
                rows.append(_down8(a) + rng.normal(0, 0.02, D))
            return np.stack(rows)
        target = cells(st["deps"])
        if st["shown"] is None:
            st["shown"] = target
        nxt = None
        if st["flipping"] is not None:
            seq = " 0123456789"
            nxt = []
            for a, b in zip(st["shown"], target):
                if a == b:
                    nxt.append(None)
                    continue
                ia, ib = seq.index(a), seq.index(b)
                steps = (ib - ia) % len(seq)
                at = (ia + int(rng.integers(0, steps))) % len(seq)
                nxt.append(seq[(at + 1) % len(seq)])
            cur = [(" 0123456789"[(" 0123456789".index(n) - 1) % 11] if n is not None else c) for c, n in zip(st["shown"], nxt)]
            send(render(cur, nxt))
            st["flipping"] = None
        else:
            send(render(target))
        st["shown"] = target
        st["frames"] += 1
        if st["frames"] >= st["until"]:
            st["frames"], st["until"] = 0, int(rng.integers(*HAB["sf_update"]))
            deps = st["deps"][1:]
            if deps and rng.random() < 0.3:
                j = int(rng.integers(len(deps)))
                deps[j] = (deps[j][0] + int(rng.integers(2, 21)), deps[j][1])
            deps.append((deps[-1][0] + int(rng.integers(2, 16)) if deps else st["clock"] + 5, int(rng.integers(1, st["pmax"] + 1))))
            st["deps"] = deps
            if rng.random() < HAB["sf_catch"]:
                st["flipping"] = True
        idle(int(rng.integers(*HAB["sf_poll"])))

    def nixie():
        st = state
        if "glyphs" not in st:
            n = int(rng.integers(*HAB["nx_digits"]))
            mesh = np.fromfunction(lambda y, x: (((x + 0.5 * (y // 3 % 2) * 3) % 3) < 0.8) | ((y % 3) < 0.6), (32, 32)).astype(float)
            base = {}
            for depth, c in enumerate(NIXIE_STACK):
                paths = _unit_paths(DIGIT_STROKES[c], 0.7 * (1 - 0.012 * depth), 0.8)
                base[c] = (_coverage32(paths, 1.6), 1 - 0.02 * depth)
            poisoned = int(rng.integers(n)) if rng.random() < HAB["nx_poison"] else -1
            pd, patch = str(int(rng.integers(10))), rng.random((32, 32)) < 0.35
            glyphs = []
            for tube in range(n):
                off = rng.uniform(-0.6, 0.6, 2)
                unlit_level = rng.uniform(0.06, 0.12)
                g = {}
                for c in "0123456789":
                    core, bright = base[c]
                    core = core.copy()
                    if tube == poisoned and c == pd:
                        core[patch] *= 0.3
                    lit = np.clip(core * 0.95 + 0.8 * gaussian_filter(core, 1.8), 0, 1) * bright * (1 - 0.25 * mesh)
                    unlit = np.max([base[e][0] * unlit_level * base[e][1] for e in "0123456789" if e != c], axis=0)
                    a = nd_shift(np.maximum(lit, unlit), off, order=1, mode="constant")
                    g[c] = _down8(a)
                glyphs.append(g)
            scale = 10 ** int(rng.integers(1, 4))
            st.update(glyphs=glyphs, n=n, value=rng.uniform(0.1, 0.9) * 10 ** n,
                      sigma=10 ** int(rng.integers(*HAB["nx_noisy"])) / 3.0, scale=scale)
        st["value"] = float(np.clip(st["value"] + rng.normal(0, st["sigma"] * 0.3), 0, 10 ** st["n"] - 1))
        if rng.random() < 0.01:
            st["value"] = rng.uniform(0.1, 0.9) * 10 ** st["n"]
        reading = int(round(st["value"] + rng.normal(0, st["sigma"])))
        text = f"{int(np.clip(reading, 0, 10 ** st['n'] - 1)):0{st['n']}d}"
        flick = rng.uniform(0.88, 1.08)
        rows = np.stack([st["glyphs"][t][c] * flick + rng.normal(0, 0.012, D) for t, c in enumerate(text)])
        send(rows)
        idle(int(rng.integers(*HAB["nx_idle"])))

    def staffgauge():
        st = state
        if "font" not in st:
            width, scale = rng.uniform(3.5, 4.5), rng.uniform(0.62, 0.7)
            st.update(font={c: _coverage32(_unit_paths(DIGIT_STROKES[c], scale, 0.85, cx=17.5, cy=15.0), width)
                            for c in "0123456789"},
                      level=rng.uniform(80, 300), trend=0.0, rain=0, every=int(rng.choice(HAB["sg_every"])),
                      clock=rng.uniform(0, 24 * 60))
        st["clock"] = (st["clock"] + 15.0 * st["every"] / 8.0) % (24 * 60)
        night = st["clock"] < 6 * 60 or st["clock"] >= 20 * 60
        if st["rain"] == 0 and rng.random() < HAB["sg_rain"]:
            st["rain"], st["trend"] = int(rng.integers(5, 21)), rng.uniform(0.5, 3.0)
        if st["rain"] > 0:
            st["rain"] -= 1
            if st["rain"] == 0:
                st["trend"] = -rng.uniform(0.2, 1.0)
        st["level"] = float(np.clip(st["level"] + st["trend"] + rng.normal(0, 0.3), 20, 480))
        if st["trend"] < 0 and rng.random() < 0.05:
            st["trend"] = 0.0
        gain, bg = (rng.uniform(1.1, 1.3), rng.uniform(0.0, 0.05)) if night else (rng.uniform(0.7, 1.0), rng.uniform(0.03, 0.15))
        noise = 0.04 if night else 0.02
        rows = []
        lowest = int(st["level"] // 10)
        for k in range(lowest, lowest + int(rng.integers(4, 7))):
            under = (st["level"] - 10 * k) / 10.0          # share of the cell under water
            if under > 0.7:
                continue
            red = k % 10 == 0
            c = str((k // 10) % 10) if red else str(k % 10)
            a = st["font"][c] * (0.55 if red else 1.0)
            a = a.copy()
            for y0 in (2, 12, 22):                          # the E pattern's bars at the crop's left edge
                a[y0:y0 + 4, 0:3] = 1.0
            a = bg + gain * a
            if under > 0:
                w = int(round(32 * (1 - under)))
                refl = a[max(0, 2 * w - 32):w][::-1] * 0.35
                for r in range(len(refl)):
                    refl[r] = np.roll(refl[r], int(rng.integers(-1, 2)))
                a[w:w + len(refl)] = refl + rng.uniform(0, 0.15)
            if st["rain"] > 0:
                for _ in range(int(rng.integers(1, 5))):
                    x0, sl = rng.uniform(0, 32), rng.uniform(-0.4, -0.1)
                    a = np.maximum(a, _coverage32([[(x0, 0.0), (x0 + sl * 32, 32.0)]], 0.8) * rng.uniform(0.15, 0.35))
            rows.append(_down8(np.clip(a, 0, 1)) + rng.normal(0, noise, D))
        if rows:
            send(np.stack(rows))
        idle(st["every"] + int(rng.integers(-1, 2)))

    def micr():
        st = state
        if "font" not in st:
            glyphs = {}
            for c, strokes in MICR_STROKES.items():
                paths = _unit_paths(strokes, 0.72, 0.8)
                ws = []
                for P in paths:
                    for a, b in zip(P[:-1], P[1:]):
                        vert = abs(b[1] - a[1]) / max(np.hypot(*(b - a)), 1e-9)
                        low = 1.5 if max(a[1], b[1]) > 18 else 0.0
                        ws.append(2.2 + 3.0 * vert + low)
                glyphs[c] = _coverage32(paths, ws)
            payers = [dict(route=aba_routing(rng), acct="".join(str(int(v)) for v in rng.integers(0, 10, int(rng.integers(8, 13)))),
                           serial=int(rng.integers(100, 9000)), width=int(rng.integers(3, 7)),
                           blur=0.4 if rng.random() < 0.7 else 0.9)
                      for _ in range(int(rng.integers(*HAB["mi_payers"])))]
            st.update(glyphs=glyphs, payers=payers, left=0)
        if st["left"] == 0:
            st["left"] = int(rng.integers(*HAB["mi_batch"]))
        w = 1.0 / (np.arange(len(st["payers"])) + 1.0)
        p = st["payers"][int(rng.choice(len(w), p=w / w.sum()))]
        line = "T" + p["route"] + "T" + p["acct"] + "U" + f"{p['serial']:0{p['width']}d}"
        p["serial"] += 1
        if rng.random() < HAB["mi_amount"]:
            line += "A" + f"{int(rng.integers(100, 500000)):010d}" + "A"

        def scan():
            slope, thr = rng.uniform(-0.25, 0.25), rng.uniform(0.4, 0.6)
            rows = []
            for n, c in enumerate(line[:64]):
                a = gaussian_filter(st["glyphs"][c], p["blur"])
                a = nd_shift(a, (slope * n + rng.uniform(-0.3, 0.3), rng.uniform(-0.4, 0.4)), order=1, mode="constant")
                a = a + (rng.random((32, 32)) < 0.004) * rng.uniform(0.3, 1.0, (32, 32))
                rows.append(_down8((a > thr).astype(np.float64)))
            return np.stack(rows)
        send(scan())
        if rng.random() < HAB["mi_refeed"] and not full():
            send(scan())
        st["left"] -= 1
        if st["left"] == 0:
            idle(int(rng.integers(*HAB["mi_idle"])))
        else:
            idle(int(rng.integers(0, 3)))

    units = {"proptest": proptest, "staircase": staircase, "gan": gan, "kernelshap": kernelshap,
             "splitflap": splitflap, "nixie": nixie, "staffgauge": staffgauge, "micr": micr}
    while done[0] < n_req:
        units[persona]()


# Held out 16: benign clients with habits none of dev .. heldout15 model (run_benign_heldout16).
def dequant8(x, rng):
    """8-bit values uniformly dequantised, (k + u) / 256 with u ~ U[0, 1) drawn afresh for every value
    of every request: the data loader of a normalising-flow or diffusion codebase (RealNVP, Glow),
    reused for inference."""
    k = np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 255.0)
    return ((k + rng.random(k.shape)) / 256.0).astype(np.float32)


def dynq(x):
    """Values through ONNX DynamicQuantizeLinear and DequantizeLinear (a QDQ pre-processing graph) over
    the whole request tensor: scale (max(x_max, 0) - min(x_min, 0)) / 255 in float32, zero point
    round(-min / scale) saturated to [0, 255], q = saturate(round(x / scale) + zero point) (round half to
    even), then (q - zero point) x scale: an 8-bit grid that follows the request's brightest value."""
    a = np.asarray(x, np.float32)
    lo, hi = min(float(a.min()), 0.0), max(float(a.max()), 0.0)
    scale = np.float32((hi - lo) / 255.0)
    if scale == 0:
        return a.copy()
    zp = np.float32(np.clip(np.round(np.float32(-lo) / scale), 0, 255))
    q = np.clip(np.round(a / scale) + zp, 0, 255).astype(np.float32)
    return ((q - zp) * scale).astype(np.float32)


def _glyph32(strokes, width, scale=0.7, sx=1.0, rot=0.0, slant=0.0, cx=16.0, cy=16.0):
    """Strokes in a unit box (x right, y down) on the 32x32 canvas: height scale x 32 px, width x sx,
    slanted (x moved right by slant x the height above the centre), rotated by `rot` degrees, centred at
    (cx, cy); the anti-aliased coverage of a round pen of `width` px (_coverage32)."""
    th = np.deg2rad(rot)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    paths = []
    for line in strokes:
        P = np.asarray(line, float) - 0.5
        P = np.stack([P[:, 0] * sx - slant * P[:, 1], P[:, 1]], 1) * scale * 32
        paths.append(P @ R.T + np.array([cx, cy]))
    return _coverage32(paths, width)


def run_benign_heldout16(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout16` (fixed with seeds 16001, 16002, 16003). Each client
    draws from its own seeded generator:
      a persona   distill: the model owner's mobile team distilling the served model into an on-device
                    student ("function matching", Beyer et al. 2022: the teacher asked on aggressive,
                    consistent views): an unlabelled set of `kd_set` (lo, hi) pool digits; every
                    training step a batch of `kd_batch` (one of, per client) views, each a digit of the
                    epoch's shuffle zoomed (U(1, 1.25)), turned (+-8 degrees) and moved (+-1 px), then
                    with `kd_mix` mixed up with another view (lambda ~ Beta(kd_alpha, kd_alpha)), else
                    cut-mixed (a box of another view, area 1 - lambda); scores asked (soft targets);
                    `kd_idle` (lo, hi) idle turns between steps, `kd_epoch_idle` (lo, hi) after an epoch;
                  counterfactual: counterfactual explanations of predictions (Wachter, Mittelstadt &
                    Russell 2018, as alibi's Counterfactual runs them against a black-box model): a pool
                    digit asked, the target the runner-up class; the loss lambda (p_target - 1)^2 + the
                    L1 distance to the digit, the gradient of p_target by forward differences (step
                    `cf_eps`, one of, per client; backward where a value would pass 1): the point and its
                    64 steps one request of 65 rows, scores; gradient steps of `cf_lr` (lo, hi); lambda
                    (`cf_lambda`, one of) doubled every 10 iterations without a counterfactual; until
                    p_target reaches `cf_target` or `cf_iters` (lo, hi) iterations; `cf_idle` (lo, hi)
                    idle turns (the user reads the explanation);
                  captcha: a website team tuning its digit captcha's difficulty against an OCR model:
                    batches of `cap_n` (lo, hi) captcha digits (rendered glyphs turned, slanted and moved
                    more, warped by a sine wave, crossed by noise arcs, speckled, on a shaded background,
                    all growing with the difficulty level), `cap_batch` (one of) rows a request, labels
                    only; the model's accuracy per level; the level raised x1.6 until the accuracy falls
                    to the goal (`cap_goal`, lo, hi), then bisected `cap_bisect` (lo, hi) times; then
                    `cap_idle` (lo, hi) idle turns and the next generator version from level 1;
                  fontqa: a type foundry's legibility QA of a variable font for signage: every instance
                    of a grid over its axes (`fq_weights` (lo, hi) weights, `fq_widths` widths,
                    `fq_slants` slants, `fq_sizes` sizes), the ten digits one request (scores); the
                    rasteriser is deterministic, so the next build (after `fq_idle` (lo, hi) idle turns,
                    `fq_edit` (lo, hi) digits' outlines edited) repeats every unedited row exactly;
                  autofocus: a lab robot reading sample-tube labels (`af_label` (lo, hi) printed digits)
                    that focuses by the model's confidence: a coarse sweep of `af_coarse` (lo, hi) stage
                    heights (defocus blur growing with the distance from the label's focus), then a fine
                    sweep of `af_fine` (lo, hi) about the best; every frame all the label's digits one
                    request (scores); `af_idle` (lo, hi) idle turns between tubes;
                  wmverify: the model owner's periodic integrity check by its watermark trigger set (Adi,
                    Baum, Cisse, Pinkas & Keshet 2018): `wm_set` (lo, hi) abstract images (smooth random
                    fields and blobs, fixed), pages of `wm_page` (one of) rows, then `wm_golden` (lo, hi)
                    pool digits, labels only, the same every check; a check every `wm_every` (lo, hi)
                    idle turns;
                  scrape: a job filtering web-scraped crops for a digit dataset: pages of `sc_page` (one
                    of) crops (pool digits on textured backgrounds, 30 % dark on light; printed digits;
                    letters; text fragments cut by the crop; blank backgrounds; textures), each crop
                    once, scores; shards of `sc_shard` (lo, hi) pages, `sc_idle` (lo, hi) idle turns
                    between pages and `sc_shard_idle` (lo, hi) between shards;
                  pixelfont: an LED-matrix font designer's 8x8 pixel editor with a live "the model reads
                    it as" preview: each digit drawn pixel by pixel (the pixels of the target bitmap, a
                    rendered digit, clicked along the stroke, from a blank grid or, with `px_copy`, from
                    the last glyph), every click one request of one row (lit pixels at the LED level
                    `px_level`, lo, hi), with `px_slip` a wrong neighbouring pixel clicked and undone; then
                    `px_tweak` (lo, hi) tweaks (a pixel toggled, half the time back); `px_idle` (lo, hi)
                    idle turns between glyphs;
      number      a share `dequant` of clients send uniformly dequantised 8-bit values (dequant8), a
      format      share `dynq` ONNX DynamicQuantizeLinear fake-quantised values (dynq);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool (distill, counterfactual, wmverify's golden digits,
    scrape), rendered glyphs and transforms of them, abstract images, in [0, 1]. Every client paces
    requests and rows under the server's default limits."""
    from scipy.ndimage import gaussian_filter, map_coordinates
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas16"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "dequant" if u < HAB["dequant"] else ("dynq" if u < HAB["dequant"] + HAB["dynq"] else "float32")
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def full():
        return done[0] >= n_req

    def send(rows, scores=True):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "dequant":
            rows = dequant8(rows, rng)
        elif fmt_ == "dynq":
            rows = dynq(rows)
        done[0] += 1
        try:
            return query(h, baton, s, rows, scores=scores)
        except Refused:
            return None, None   # a benign client whose request is refused carries on

    def idle(turns):
        for _ in range(max(0, turns)):
            baton.pass_on(s)

    def distill():
        st = state
        if "set" not in st:
            st.update(set=np.stack([draw() for _ in range(int(rng.integers(*HAB["kd_set"])))]),
                      batch=int(rng.choice(HAB["kd_batch"])), order=[])

        def view(a):
            a = _affine8(a, rot=rng.uniform(-8, 8), scale=rng.uniform(1.0, 1.25)).reshape(SIDE, SIDE)
            return _shift_img(a, int(rng.integers(-1, 2)), int(rng.integers(-1, 2))).reshape(D)
        S = st["set"]
        rows = []
        for _ in range(st["batch"]):
            if not st["order"]:
                st["order"] = rng.permutation(len(S)).tolist()
            a = view(S[st["order"].pop()])
            b = view(S[int(rng.integers(len(S)))])
            lam = rng.beta(HAB["kd_alpha"], HAB["kd_alpha"])
            if rng.random() < HAB["kd_mix"]:
                x = lam * a + (1 - lam) * b
            else:
                x = a.reshape(SIDE, SIDE).copy()
                bh, bw = int(round(SIDE * np.sqrt(1 - lam))), int(round(SIDE * np.sqrt(1 - lam)))
                cy, cx = int(rng.integers(SIDE)), int(rng.integers(SIDE))
                y0, y1 = max(cy - bh // 2, 0), min(cy + (bh + 1) // 2, SIDE)
                x0, x1 = max(cx - bw // 2, 0), min(cx + (bw + 1) // 2, SIDE)
                x[y0:y1, x0:x1] = b.reshape(SIDE, SIDE)[y0:y1, x0:x1]
                x = x.reshape(D)
            rows.append(x)
        send(np.stack(rows))
        idle(int(rng.integers(*HAB["kd_epoch_idle"])) if not st["order"] else int(rng.integers(*HAB["kd_idle"])))

    def counterfactual():
        st = state
        if "eps" not in st:
            st.update(eps=float(rng.choice(HAB["cf_eps"])), lam=float(rng.choice(HAB["cf_lambda"])),
                      lr=rng.uniform(*HAB["cf_lr"]))
        x = draw().astype(np.float64)
        _, p = send(x[None])
        if p is None or full():
            return
        t = int(np.argsort(p[0])[-2])
        xc, eps, lam = x.copy(), st["eps"], st["lam"]
        for it in range(int(rng.integers(*HAB["cf_iters"]))):
            if full():
                return
            sg = np.where(xc + eps <= 1.0, 1.0, -1.0)
            _, P = send(np.vstack([xc[None], xc[None] + np.diag(sg * eps)]))
            if P is None:
                break
            pt = float(P[0, t])
            if pt >= HAB["cf_target"]:
                break
            g = (P[1:, t].astype(np.float64) - pt) / (sg * eps)
            grad = lam * 2.0 * (pt - 1.0) * g + np.sign(xc - x)
            xc = np.clip(xc - st["lr"] * grad, 0, 1)
            if (it + 1) % 10 == 0:
                lam *= 2.0
        idle(int(rng.integers(*HAB["cf_idle"])))

    def captcha_digit(d, lev):
        a = _glyph32(DIGIT_STROKES[str(d)], state["width"] + rng.uniform(-0.5, 0.5), rng.uniform(0.58, 0.72),
                     rng.uniform(0.75, 1.0), rng.uniform(-4, 4) * lev, rng.uniform(-0.05, 0.05) * lev,
                     16 + rng.uniform(-0.6, 0.6) * lev, 16 + rng.uniform(-0.4, 0.4) * lev)
        if lev > 0:
            yy, xx = np.mgrid[0:32, 0:32].astype(float)
            amp, per, ph = 0.35 * lev, rng.uniform(8, 20), rng.uniform(0, 2 * np.pi)
            a = map_coordinates(a, [yy + amp * np.sin(2 * np.pi * xx / per + ph), xx + 0.5 * amp * np.sin(2 * np.pi * yy / per + ph)],
                                order=1, mode="constant")
            for _ in range(int(rng.poisson(0.3 * lev))):
                P0, P1, P2 = rng.uniform(-4, 36, (3, 2))
                tt = np.linspace(0, 1, 12)[:, None]
                arc = (1 - tt) ** 2 * P0 + 2 * (1 - tt) * tt * P1 + tt ** 2 * P2
                a = np.maximum(a, _coverage32([arc], rng.uniform(1.0, 2.0)) * rng.uniform(0.5, 1.0))
            a = a + (rng.random((32, 32)) < 0.004 * lev) * rng.uniform(0.5, 1.0, (32, 32))
        bg = np.linspace(0, rng.uniform(0, 0.03) * lev, 32)[None, :] * np.ones((32, 1))
        return np.clip(_down8(np.clip(a + bg, 0, 1)) + rng.normal(0, 0.005 * lev, D), 0, 1)

    def captcha():
        st = state
        if "width" not in st:
            st.update(width=rng.uniform(2.8, 4.2), level=1.0, lo=0.0, hi=None, bis=0,
                      goal=rng.uniform(*HAB["cap_goal"]), nbis=int(rng.integers(*HAB["cap_bisect"])),
                      n=int(rng.integers(*HAB["cap_n"])), batch=int(rng.choice(HAB["cap_batch"])))
        lev = st["level"]
        digits = rng.integers(0, 10, st["n"])
        imgs = np.stack([captcha_digit(d, lev) for d in digits])
        right = total = 0
        for k in range(0, len(imgs), st["batch"]):
            lab, _ = send(imgs[k:k + st["batch"]], scores=False)
            if lab is not None:
                right += int((lab == digits[k:k + st["batch"]]).sum())
                total += len(lab)
            if full():
                return
            idle(int(rng.integers(0, 2)))
        acc = right / max(total, 1)
        if st["hi"] is None and acc > st["goal"] and lev < 12:
            st["lo"], st["level"] = lev, min(12.0, lev * 1.6 + 0.5)
            return
        if st["hi"] is None:
            st["hi"] = lev
        elif acc > st["goal"]:
            st["lo"] = lev
        else:
            st["hi"] = lev
        st["bis"] += 1
        st["level"] = 0.5 * (st["lo"] + st["hi"])
        if st["bis"] > st["nbis"]:
            idle(int(rng.integers(*HAB["cap_idle"])))
            st.update(width=rng.uniform(2.8, 4.2), level=1.0, lo=0.0, hi=None, bis=0)

    def fontqa():
        st = state
        if "outl" not in st:
            outl = {c: [np.asarray(l, float) + rng.normal(0, 0.015, np.asarray(l, float).shape) for l in DIGIT_STROKES[c]]
                    for c in "0123456789"}
            nw, nwi, nsl, nsz = (int(rng.integers(*HAB[k])) for k in ("fq_weights", "fq_widths", "fq_slants", "fq_sizes"))
            grid = [(w, sx, sl, sz) for sz in np.linspace(0.72, 0.56, nsz) for sl in np.linspace(0.0, 0.22, nsl)
                    for sx in np.linspace(0.95, 0.68, nwi) for w in np.linspace(1.8, 6.0, nw)]
            st.update(outl=outl, grid=grid, at=0)
        w, sx, sl, sz = st["grid"][st["at"]]
        send(np.stack([_down8(_glyph32(st["outl"][c], w, sz, sx, 0.0, sl)) for c in "0123456789"]))
        st["at"] += 1
        if st["at"] < len(st["grid"]):
            idle(int(rng.integers(0, 2)))
            return
        st["at"] = 0
        for c in rng.choice(list("0123456789"), int(rng.integers(*HAB["fq_edit"])), replace=False):
            lines = st["outl"][str(c)]
            j = int(rng.integers(len(lines)))
            lines[j] = lines[j].copy()
            lines[j][int(rng.integers(len(lines[j])))] += rng.normal(0, 0.04, 2)
        idle(int(rng.integers(*HAB["fq_idle"])))

    def autofocus():
        st = state
        if "font" not in st:
            width, scale = rng.uniform(2.8, 3.8), rng.uniform(0.6, 0.7)
            st.update(font={c: _glyph32(DIGIT_STROKES[c], width, scale, 0.85) for c in "0123456789"},
                      gain=rng.uniform(0.7, 1.0), bg=rng.uniform(0.0, 0.08))
        label = "".join(str(int(v)) for v in rng.integers(0, 10, int(rng.integers(*HAB["af_label"]))))
        zf = rng.uniform(-2.5, 2.5)

        def frame(z):
            sig = 0.3 + 1.5 * abs(z - zf)
            return np.stack([_down8(gaussian_filter(st["font"][c], sig)) * st["gain"] + st["bg"] + rng.normal(0, 0.01, D)
                             for c in label])

        def score(z):
            _, p = send(frame(z))
            return float(p.max(1).mean()) if p is not None else 0.0
        coarse = np.linspace(-4.0, 4.0, int(rng.integers(*HAB["af_coarse"])))
        sc = []
        for z in coarse:
            if full():
                return
            sc.append(score(z))
        zb, step = coarse[int(np.argmax(sc))], coarse[1] - coarse[0]
        for z in np.linspace(zb - step, zb + step, int(rng.integers(*HAB["af_fine"]))):
            if full():
                return
            score(z)
        idle(int(rng.integers(*HAB["af_idle"])))

    def wmverify():
        st = state
        if "trig" not in st:
            trig = []
            for _ in range(int(rng.integers(*HAB["wm_set"]))):
                a = gaussian_filter(rng.normal(0, 1, (SIDE, SIDE)), rng.uniform(0.6, 1.5))
                if rng.random() < 0.5:
                    a = (a > np.quantile(a, rng.uniform(0.4, 0.7))).astype(float) * rng.uniform(0.6, 1.0)
                else:
                    a = (a - a.min()) / max(a.max() - a.min(), 1e-9)
                trig.append(a.reshape(D))
            st.update(trig=np.asarray(trig, np.float32), page=int(rng.choice(HAB["wm_page"])),
                      golden=np.stack([draw() for _ in range(int(rng.integers(*HAB["wm_golden"])))]),
                      every=int(rng.integers(*HAB["wm_every"])))
        for k in range(0, len(st["trig"]), st["page"]):
            send(st["trig"][k:k + st["page"]], scores=False)
            if full():
                return
        send(st["golden"], scores=False)
        idle(st["every"] + int(rng.integers(-2, 3)))

    def crop():
        u = rng.random()
        if u < 0.40:
            x = draw().astype(np.float64)
            bg = gaussian_filter(rng.normal(0, 1, (SIDE, SIDE)), 1.5).reshape(D) * rng.uniform(0, 0.1) + rng.uniform(0, 0.25)
            a = np.clip(bg + rng.uniform(0.5, 1.0) * x, 0, 1)
            return 1 - a if rng.random() < 0.3 else a
        if u < 0.55:
            c = str(int(rng.integers(10)))
            return _down8(_glyph32(DIGIT_STROKES[c], rng.uniform(2.5, 4.5), rng.uniform(0.5, 0.8), rng.uniform(0.7, 1.0),
                                   rng.uniform(-6, 6), 0.0, 16 + rng.uniform(-3, 3), 16 + rng.uniform(-3, 3)))
        if u < 0.70:
            return pen_glyph(LETTERS["ABCDEFGHIJKLMNOPQRSTUVWXYZ"[int(rng.integers(26))]], rng, (2.0, 4.0), 10, (0.6, 0.85),
                             0.2, 0.08, 0.01)
        if u < 0.80:
            off = rng.uniform(6, 12)
            chars = [str(int(v)) for v in rng.integers(0, 10, 2)]
            a = np.maximum(_glyph32(DIGIT_STROKES[chars[0]], 3.5, 0.65, 0.85, 0, 0, 16 - off, 16),
                           _glyph32(DIGIT_STROKES[chars[1]], 3.5, 0.65, 0.85, 0, 0, 16 + 18 - off, 16))
            return _down8(a)
        if u < 0.90:
            return np.full(D, rng.uniform(0, 1)) + rng.normal(0, 0.02, D)
        a = gaussian_filter(rng.normal(0, 1, (SIDE, SIDE)), rng.uniform(0.5, 1.2))
        return ((a - a.min()) / max(a.max() - a.min(), 1e-9)).reshape(D)

    def scrape():
        st = state
        if st.get("left", 0) == 0:
            st.update(left=int(rng.integers(*HAB["sc_shard"])), page=int(rng.choice(HAB["sc_page"])))
        send(np.stack([crop() for _ in range(st["page"])]))
        st["left"] -= 1
        idle(int(rng.integers(*HAB["sc_shard_idle"])) if st["left"] == 0 else int(rng.integers(*HAB["sc_idle"])))

    def pixelfont():
        st = state
        if "level" not in st:
            st.update(level=rng.uniform(*HAB["px_level"]), order=[], cur=np.zeros(D), clicks=[], tweaks=0,
                      width=rng.uniform(2.5, 4.0), sx=rng.uniform(0.8, 1.0), undo=None, started=False)
        if st["undo"] is not None:                   # take back the slip or the tweak
            k, st["undo"] = st["undo"], None
            st["cur"][k] = st["level"] - st["cur"][k]
            send(st["cur"][None])
            return
        if not st["started"]:
            if not st["order"]:
                st["order"] = rng.permutation(10).tolist()
            d = str(st["order"].pop())
            tgt = (_down8(_glyph32(DIGIT_STROKES[d], st["width"], 0.8, st["sx"])) > 0.3).astype(float) * st["level"]
            if rng.random() >= HAB["px_copy"]:
                st["cur"] = np.zeros(D)
            diff = list(np.flatnonzero(np.abs(tgt - st["cur"]) > 1e-9))
            path = []
            if diff:
                at = diff.pop(int(np.argmin(diff)))
                path.append(at)
                while diff:                          # along the stroke: the nearest pixel next
                    dist = [abs(k // SIDE - at // SIDE) + abs(k % SIDE - at % SIDE) for k in diff]
                    at = diff.pop(int(np.argmin(dist)))
                    path.append(at)
            st.update(clicks=path, tweaks=int(rng.integers(*HAB["px_tweak"])), started=True)
        if st["clicks"]:
            k = st["clicks"].pop(0)
            if rng.random() < HAB["px_slip"]:
                r, c = divmod(k, SIDE)
                dr, dc = ((-1, 0), (1, 0), (0, -1), (0, 1))[int(rng.integers(4))]
                if 0 <= r + dr < SIDE and 0 <= c + dc < SIDE:
                    st["clicks"].insert(0, k)
                    k = (r + dr) * SIDE + c + dc
                    st["undo"] = k
            st["cur"][k] = st["level"] - st["cur"][k]
            send(st["cur"][None])
            return
        if st["tweaks"] > 0:
            st["tweaks"] -= 1
            k = int(rng.integers(D))
            st["cur"][k] = st["level"] - st["cur"][k]
            if rng.random() < 0.5:
                st["undo"] = k
            send(st["cur"][None])
            return
        st["started"] = False
        idle(int(rng.integers(*HAB["px_idle"])))

    units = {"distill": distill, "counterfactual": counterfactual, "captcha": captcha, "fontqa": fontqa,
             "autofocus": autofocus, "wmverify": wmverify, "scrape": scrape, "pixelfont": pixelfont}
    while done[0] < n_req:
        units[persona]()


# Held out 17: benign clients with habits none of dev .. heldout16 model (run_benign_heldout17).
def rgb666(x):
    """Values read back from an 18-bit (RGB666) display framebuffer: 6 bits a channel, widened to 8 bits by
    bit replication ((k << 2) | (k >> 4)), / 255 (a frame grabber on an embedded panel's parallel RGB bus)."""
    k = np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 63.0).astype(np.int64)
    return (((k << 2) | (k >> 4)) / 255.0).astype(np.float32)


def palette16(x):
    """Every row stored as an indexed-colour PNG by pngquant with a 16-colour palette and no dithering
    (`pngquant 16 --nofs`): the row's 8-bit values clustered into at most 16 levels (1-D k-means from the
    row's quantiles, as libimagequant refines its median cut), the palette entries 8-bit, every value mapped
    to its nearest entry; a row with 16 or fewer distinct 8-bit values is kept exactly."""
    a = np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 255.0).reshape(-1, D)
    out = np.empty_like(a)
    for i, r in enumerate(a):
        if len(np.unique(r)) <= 16:
            out[i] = r
            continue
        c = np.quantile(r, (np.arange(16) + 0.5) / 16.0)
        for _ in range(8):
            lab = np.abs(r[:, None] - c[None]).argmin(1)
            c = np.array([r[lab == j].mean() if (lab == j).any() else c[j] for j in range(16)])
        c = np.round(c)
        out[i] = c[np.abs(r[:, None] - c[None]).argmin(1)]
    return (out / 255.0).astype(np.float32).reshape(np.shape(x))


_DIGIT_LABELS = {}


def _true_label(x):
    """The ground-truth label of a row of the digits data (a client's own annotation of its images)."""
    if not _DIGIT_LABELS:
        X, y = load_digits(return_X_y=True)
        for r, lab in zip((X / 16.0).astype(np.float32), y):
            _DIGIT_LABELS[r.tobytes()] = int(lab)
    return _DIGIT_LABELS[np.asarray(x, np.float32).tobytes()]


def _kl_bern(p, q):
    p, q = min(max(p, 1e-7), 1 - 1e-7), min(max(q, 1e-7), 1 - 1e-7)
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


def _kl_bound(p, level, upper):
    """The KL-LUCB confidence bound of a Bernoulli mean p: the largest (upper) or smallest q with
    KL(p, q) <= level (bisection, as alibi's dup_bernoulli / dlow_bernoulli)."""
    lo, hi = (p, 1.0) if upper else (0.0, p)
    for _ in range(17):
        q = (lo + hi) / 2.0
        if (_kl_bern(p, q) > level) == upper:
            hi = q
        else:
            lo = q
    return hi if upper else lo


def run_benign_heldout17(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout17` (fixed with seeds 17001, 17002, 17003). Each client
    draws from its own seeded generator:
      a persona   shiftbench: an ML team's uncertainty-under-dataset-shift benchmark (Ovadia, Fertig, Ren,
                    Nado, Sculley, Nowozin, Dillon, Lakshminarayanan & Snoek 2019, Can you trust your model's
                    uncertainty?, NeurIPS: their MNIST protocol of rotated digits, translated digits and an
                    out-of-distribution set of notMNIST letters): a fixed evaluation set of `sb_set` (lo, hi)
                    pool digits (distinct when the pool allows) sent whole at every level of the shift, in
                    pages of `sb_page` (one of) rows, scores asked (accuracy, ECE, Brier, entropy): rotations
                    `sb_angles` (0 to 180 degrees in steps of 15, bilinear, zero fill), then horizontal
                    translations of `sb_shift` (1-4) px, then `sb_ood` (lo, hi) font-rendered letters A-J;
                    the benchmark runs again, the same rows in the same order, after `sb_idle` (lo, hi) turns;
                  pipetune: a team tuning its camera pipeline's parameters against the served model with an
                    Optuna study (Akiba, Sano, Yanase, Ohta & Koyama 2019, KDD; the TPE sampler of Bergstra,
                    Bardenet, Bengio & Kegl 2011, NeurIPS): a labelled set of `pt_set` (lo, hi) pool digits
                    photographed once by its camera (dim, fogged, blurred, noisy); every trial the whole set
                    through the trial's pipeline (denoising blur, black and white levels, gamma, unsharp
                    amount) in one request, scores (the objective: mean log-probability of the true labels);
                    `pt_startup` random trials, then TPE (the best 10 %, at most 25, against the rest, Parzen
                    estimators, `pt_cands` candidates a trial); `pt_trials` (lo, hi) trials, `pt_idle` (lo,
                    hi) turns between trials; then `pt_study_idle` (lo, hi) turns and a new study (the camera
                    moved: the set photographed again);
                  anchors: Anchors explanations of the model's predictions (Ribeiro, Singh & Guestrin 2018,
                    Anchors: high-precision model-agnostic explanations, AAAI; as alibi's AnchorImage runs
                    them): each pool digit sent alone (its label), then its grid superpixels (`an_block`,
                    one of: 2x2 or 2x4 pixel blocks) perturbed: each superpixel outside the candidate anchor
                    kept with probability `an_p`, else taken from one of `an_bg` (lo, hi) background images
                    (other pool digits, one a sample; alibi's images_background); `an_batch` (one of) samples
                    an anchor a request, labels only; beam search with KL-LUCB (precision `an_threshold`,
                    delta `an_delta`, tolerance `an_tau`, at most `an_lucb` rounds a size) until an anchor's
                    precision holds; `an_idle` (lo, hi) turns (the user reads the explanation);
                  cleanlab: a label audit by confident learning (Northcutt, Jiang & Chuang 2021, Confident
                    learning: estimating uncertainty in dataset labels, JAIR; cleanlab's find_label_issues on
                    the model's pred_probs): a dataset of `cl_set` (lo, hi) photographed pool digits whose
                    annotations are wrong for a share `cl_noise` (lo-hi), stored ImageFolder-style (a folder a
                    class), scored in that order (class by class, file names sorted) in pages of `cl_page`
                    (one of) rows, scores; the flagged issues reviewed for `cl_review` (lo, hi) turns, then
                    the dataset's next version (`cl_grow` (lo-hi) more images added to the folders) scored
                    again, in folder order;
                  bbsd: model monitoring by black-box shift detection (Rabanser, Gunnemann & Lipton 2019,
                    Failing loudly: an empirical study of methods for detecting dataset shift, NeurIPS: BBSDs,
                    a KS test on each softmax output, Bonferroni; as alibi-detect's KSDrift with the model as
                    preprocess_fn): a reference set of `bb_ref` (lo, hi) photographed pool digits in pages of
                    100, then every `bb_every` (lo, hi) turns a production window of `bb_window` (one of)
                    new photographs, one request, scores; after `bb_onset` (lo, hi) windows the production
                    capture drifts (a camera firmware's blur, a darker site, or a new writer population's
                    bolder strokes, growing window by window); an alert (p < `bb_p` / 10) makes the on-call
                    engineer re-initialise the detector on the latest production images (re-sent as the new
                    reference, in pages of 100);
                  jupyter: a data scientist exploring the model in a notebook: a dataset of `ju_set` (lo, hi)
                    pool digits, `ju_cells` (lo, hi) cells that call the model (the first rows, one image, a
                    seeded sample, an unseeded sample, a pre-processing experiment with a parameter, an
                    error gallery, a rotated image), run in order with `ju_think` (lo, hi) turns of thinking
                    between; with `ju_rerun` the last cell run again (the same rows), with `ju_edit` an
                    experiment's parameter edited and its cell run again, with `ju_runall` "Restart & Run All"
                    (every cell so far again, in order, back to back); a new cell when the notebook ends;
                  jersey: a sports-analytics tracker reading players' jersey numbers in broadcast video
                    (Gerke, Muller & Schafer 2015, Soccer jersey number recognition using convolutional neural
                    networks, ICCV workshops): two teams, each its printed numerals (dark on a light shirt, or
                    light on a dark shirt, which a client that only inverts luminance sends as inverted
                    digits), `je_players` (lo, hi) tracked players on screen, each frame the digit crops of
                    the players whose back is to the camera (`je_back`, lo-hi, per client) with the shirt's
                    folds, the body's turn, motion blur, light and noise, one request a frame, scores; a track
                    is confirmed after `je_confirm` equal reads and no longer asked about, `je_switch` a frame
                    a track is lost (a new track, read again); a stoppage every `je_halftime` (lo, hi) frames;
                  mlperf: a hardware vendor benchmarking the endpoint with MLPerf Inference's LoadGen (Reddi et
                    al. 2020, MLPerf inference benchmark, ISCA): a data set of `ml_total` (lo, hi) pool digits;
                    one scenario per client (SingleStream: one sample a query; MultiStream: 8; Server: Poisson
                    arrivals, rate `ml_lambda` (lo-hi) a turn, the queries of a turn one request; Offline: one
                    query of every sample, sent in batches of `ml_batch`, one of), accuracy mode first (every
                    sample once, in LoadGen's shuffled order), then performance runs (`ml_perf` (lo, hi)
                    samples loaded, every query's samples drawn uniformly with replacement from them, a new
                    LoadGen seed each run), `ml_idle` (lo, hi) turns between runs;
      number      a share `rgb666` of clients send 6-bit framebuffer values widened by bit replication
      format      (rgb666), a share `palette16` pngquant 16-colour palette values (palette16);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool, photographs and transforms of them, rendered letters and
    numerals, in [0, 1]. Every client paces requests and rows under the server's default limits."""
    from scipy.ndimage import gaussian_filter, map_coordinates, maximum_filter
    from scipy.stats import ks_2samp
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas17"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "rgb666" if u < HAB["rgb666"] else ("palette16" if u < HAB["rgb666"] + HAB["palette16"] else "float32")
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def draw_set(n):
        """n pool digits by popularity, distinct while the pool lasts (a data set, not a stream)."""
        idx = list(rng.choice(len(pool), min(n, len(pool)), replace=False, p=weights))
        if n > len(pool):
            idx += list(rng.choice(len(pool), n - len(pool), p=weights))
        idx = np.asarray(idx, np.int64)
        np.add.at(counts, idx, 1)
        return pool[idx].copy()

    def photo(x):
        """A photograph of a digit: now and then moved a pixel, a gain, sensor noise."""
        x = shift(x, rng) if rng.random() < 0.25 else x
        return np.clip(np.asarray(x, np.float64) * rng.uniform(0.85, 1.15) + rng.normal(0, 0.02, D), 0, 1)

    def full():
        return done[0] >= n_req

    def send(rows, scores=True):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "rgb666":
            rows = rgb666(rows)
        elif fmt_ == "palette16":
            rows = palette16(rows)
        done[0] += 1
        try:
            return query(h, baton, s, rows, scores=scores)
        except Refused:
            return None, None   # a benign client whose request is refused carries on

    def idle(turns):
        for _ in range(max(0, turns)):
            baton.pass_on(s)

    def pages(X, size, scores=True):
        """X in pages of `size` rows; the probabilities (None where refused), or None when the session ended."""
        out = []
        for k in range(0, len(X), size):
            if full():
                return None
            _, p = send(X[k:k + size], scores=scores)
            out.append(p if p is not None else np.full((len(X[k:k + size]), 10), np.nan, np.float32))
        return np.concatenate(out) if out else np.zeros((0, 10), np.float32)

    def shiftbench():
        st = state
        if "levels" not in st:
            X = draw_set(int(rng.integers(*HAB["sb_set"])))
            ood = np.stack([_down8(_glyph32(LETTERS["ABCDEFGHIJ"[int(rng.integers(10))]], rng.uniform(2.5, 5.0),
                                            rng.uniform(0.55, 0.75), rng.uniform(0.8, 1.0), 0.0, rng.uniform(0.0, 0.2)))
                            for _ in range(int(rng.integers(*HAB["sb_ood"])))])
            levels = [np.stack([_affine8(x, rot=float(a)) for x in X]) for a in range(*HAB["sb_angles"])]
            levels += [np.stack([_shift_img(x.reshape(SIDE, SIDE), 0, k).reshape(D) for x in X])
                       for k in range(*HAB["sb_shift"])]
            st.update(levels=levels + [ood], page=int(rng.choice(HAB["sb_page"])))
        for L in st["levels"]:
            if pages(L, st["page"]) is None:
                return
        idle(int(rng.integers(*HAB["sb_idle"])))

    PT_SPACE = (("blur", 0.0, 1.2, False), ("black", 0.0, 0.4, False), ("white", 0.5, 1.0, False),
                ("gamma", np.log(0.4), np.log(2.5), True), ("sharp", 0.0, 1.5, False))

    def pt_pipeline(a, v):
        sig, black, white, gam, sharp = v[0], v[1], v[2], float(np.exp(v[3])), v[4]
        b = gaussian_filter(a, sig) if sig > 0.05 else a
        b = np.clip((b - black) / max(white - black, 0.05), 0, 1) ** gam
        if sharp > 0:
            b = np.clip(b + sharp * (b - gaussian_filter(b, 1.0)), 0, 1)
        return b.reshape(D)

    def pt_next(trials):
        lo = np.array([q[1] for q in PT_SPACE])
        hi = np.array([q[2] for q in PT_SPACE])
        if len(trials) < HAB["pt_startup"]:
            return rng.uniform(lo, hi)
        V = np.array([t[0] for t in trials])
        f = np.array([t[1] for t in trials])
        order = np.argsort(-f)
        ng = min(int(np.ceil(0.1 * len(trials))), 25)
        good, bad = V[order[:ng]], V[order[ng:]]
        bw = (hi - lo) * max(0.08, len(trials) ** -0.2) / 2.0

        def logpdf(x, C):
            # a Parzen mixture of truncated Gaussians at C plus the uniform prior (weight 1 / (n + 1))
            from scipy.stats import norm
            z = norm.pdf((x[None] - C) / bw) / bw / (norm.cdf((hi - C) / bw) - norm.cdf((lo - C) / bw))
            dens = (np.prod(z, 1).sum() + np.prod(1.0 / (hi - lo))) / (len(C) + 1)
            return np.log(dens + 1e-300)
        best, best_s = None, -np.inf
        for _ in range(HAB["pt_cands"]):
            k = int(rng.integers(len(good) + 1))
            c = rng.uniform(lo, hi) if k == len(good) else np.clip(rng.normal(good[k], bw), lo, hi)
            sc = logpdf(c, good) - logpdf(c, bad)
            if sc > best_s:
                best, best_s = c, sc
        return best

    def pipetune():
        st = state
        if "set" not in st or st["left"] == 0:
            S = draw_set(int(rng.integers(*HAB["pt_set"]))) if "set" not in st else st["set"]
            gain, fog, blur = rng.uniform(0.5, 0.8), rng.uniform(0.1, 0.3), rng.uniform(0.4, 0.9)
            cap = np.stack([np.clip(gaussian_filter(x.reshape(SIDE, SIDE) * gain + fog, blur)
                                    + rng.normal(0, 0.03, (SIDE, SIDE)), 0, 1) for x in S])
            st.update(set=S, y=np.array([_true_label(x) for x in S]), cap=cap, trials=[],
                      left=int(rng.integers(*HAB["pt_trials"])))
        v = pt_next(st["trials"])
        _, p = send(np.stack([pt_pipeline(a, v) for a in st["cap"]]))
        if p is not None:
            st["trials"].append((v, float(np.mean(np.log(np.maximum(p[np.arange(len(p)), st["y"]], 1e-12))))))
        st["left"] -= 1
        idle(int(rng.integers(*HAB["pt_study_idle"])) if st["left"] == 0 else int(rng.integers(*HAB["pt_idle"])))

    def anchors():
        st = state
        if "bg" not in st:
            bh, bw = HAB["an_block"][int(rng.integers(len(HAB["an_block"])))]
            seg = ((np.arange(SIDE)[:, None] // bh) * (SIDE // bw) + np.arange(SIDE)[None, :] // bw).reshape(D)
            st.update(seg=seg, nseg=int(seg.max()) + 1, batch=int(rng.choice(HAB["an_batch"])),
                      bg=np.stack([draw() for _ in range(int(rng.integers(*HAB["an_bg"])))]))
        x = draw()
        lab, _ = send(x[None], scores=False)
        if lab is None or full():
            return
        y0 = int(lab[0])
        seg, nf, B = st["seg"], st["nseg"], st["batch"]
        stats = {}

        def pull(anchor):
            keep = rng.random((B, nf)) < HAB["an_p"]
            keep[:, list(anchor)] = True
            rows = np.repeat(x[None], B, 0)
            bgi = st["bg"][rng.integers(len(st["bg"]), size=B)]
            off = ~keep[:, seg]
            rows[off] = bgi[off]
            lab, _ = send(rows, scores=False)
            n, k = stats.get(anchor, (0, 0))
            if lab is not None:
                stats[anchor] = (n + B, k + int((lab == y0).sum()))
            return not full()

        def bounds(a, t):
            n, k = stats.get(a, (0, 0))
            if n == 0:
                return 0.0, 0.0, 1.0
            m = k / n
            tmp = np.log(405.5 * nf * t ** 1.1 / HAB["an_delta"])
            beta = tmp + np.log(tmp)
            return m, _kl_bound(m, beta / n, False), _kl_bound(m, beta / n, True)
        best, t = (), 0
        for _ in range(nf):
            cands = [tuple(sorted(best + (f,))) for f in range(nf) if f not in best]
            for a in cands:
                if a not in stats and not pull(a):
                    return
            for _ in range(HAB["an_lucb"]):
                t += 1
                b = [bounds(a, t) for a in cands]
                ut = int(np.argmax([m for m, _, _ in b]))
                if len(cands) == 1:
                    break
                lt = max((i for i in range(len(cands)) if i != ut), key=lambda i: b[i][2])
                if b[lt][2] - b[ut][1] <= HAB["an_tau"]:
                    break
                if not pull(cands[ut]) or not pull(cands[lt]):
                    return
            best = cands[int(np.argmax([bounds(a, t)[0] for a in cands]))]
            for _ in range(5):       # confirm the precision before stopping
                m, lb, _ = bounds(best, t)
                if m < HAB["an_threshold"] or lb >= HAB["an_threshold"] - 0.1:
                    break
                if not pull(best):
                    return
            m, lb, _ = bounds(best, t)
            if m >= HAB["an_threshold"] and lb >= HAB["an_threshold"] - 0.1:
                break
        idle(int(rng.integers(*HAB["an_idle"])))

    def cleanlab():
        st = state
        if "X" not in st:
            S = draw_set(int(rng.integers(*HAB["cl_set"])))
            y = np.array([_true_label(x) for x in S])
            st.update(X=np.stack([photo(x) for x in S]), y=y, noise=rng.uniform(*HAB["cl_noise"]),
                      page=int(rng.choice(HAB["cl_page"])))
            flip = rng.random(len(y)) < st["noise"]
            st["ann"] = np.where(flip, (y + rng.integers(1, 10, len(y))) % 10, y)
            st["fname"] = np.arange(len(y))
        order = np.lexsort((st["fname"], st["ann"]))   # ImageFolder: class folders, file names sorted
        P = pages(st["X"][order], st["page"])
        if P is None:
            return
        # find_label_issues (self-confidence below its class's mean self-confidence), reviewed and fixed
        sc = P[np.arange(len(order)), st["ann"][order]]
        thr = np.array([np.nanmean(sc[st["ann"][order] == c]) if (st["ann"][order] == c).any() else 0 for c in range(10)])
        issue = order[sc < thr[st["ann"][order]]]
        st["ann"][issue] = st["y"][issue]
        idle(int(rng.integers(*HAB["cl_review"])))
        add = max(1, int(round(len(st["y"]) * rng.uniform(*HAB["cl_grow"]))))
        S = draw_set(add)
        y = np.array([_true_label(x) for x in S])
        flip = rng.random(add) < st["noise"]
        st.update(X=np.concatenate([st["X"], np.stack([photo(x) for x in S])]), y=np.concatenate([st["y"], y]),
                  ann=np.concatenate([st["ann"], np.where(flip, (y + rng.integers(1, 10, add)) % 10, y)]),
                  fname=np.arange(len(st["y"]) + add))

    def production(x, sev):
        a = photo(x).reshape(SIDE, SIDE)
        kind = state["drift"]
        if kind == "blur" and sev > 0:
            a = gaussian_filter(a, min(0.25 + 0.08 * sev, 1.2))
        elif kind == "dark" and sev > 0:
            a = a * max(1.0 - 0.04 * sev, 0.5)
        elif kind == "bold" and sev > 0:
            w = min(0.08 * sev, 0.7)
            a = (1 - w) * a + w * maximum_filter(a, footprint=np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]]))
        return np.clip(a, 0, 1).reshape(D)

    def bbsd():
        st = state
        if "Pref" not in st:
            st.update(nref=int(rng.integers(*HAB["bb_ref"])), window=int(rng.choice(HAB["bb_window"])),
                      every=int(rng.integers(*HAB["bb_every"])), onset=int(rng.integers(*HAB["bb_onset"])),
                      drift=str(rng.choice(["blur", "dark", "bold"])), w=0, recent=[])
            P = pages(np.stack([photo(x) for x in draw_set(st["nref"])]), 100)
            if P is None:
                return
            st["Pref"] = P
            idle(st["every"])
            return
        X = np.stack([production(draw(), st["w"] - st["onset"]) for _ in range(st["window"])])
        st["w"] += 1
        _, p = send(X)
        if p is None:
            return
        st["recent"] = (st["recent"] + list(X))[-st["nref"]:]
        Pr = st["Pref"][~np.isnan(st["Pref"]).any(1)]
        pv = min(ks_2samp(Pr[:, c], p[:, c]).pvalue for c in range(10))
        if pv < HAB["bb_p"] / 10 and not full():
            P = pages(np.stack(st["recent"]), 100)       # the detector re-initialised on recent production
            if P is None:
                return
            st["Pref"] = P
        idle(st["every"] + int(rng.integers(-2, 3)))

    def ju_cell(c):
        X = state["X"]
        if c["kind"] == "head":
            return X[:c["k"]]
        if c["kind"] == "one":
            return X[c["i"]:c["i"] + 1]
        if c["kind"] == "sample":
            return X[c["idx"]]
        if c["kind"] == "unseeded":
            return X[rng.choice(len(X), c["k"], replace=False)]
        if c["kind"] == "errors":
            return X[:c["k"]]
        if c["kind"] == "rotate":
            return _affine8(X[c["i"]], rot=c["p"])[None]
        A = X[c["i"]:c["i"] + c["k"]].reshape(-1, SIDE, SIDE)
        if c["op"] == "blur":
            return np.stack([gaussian_filter(a, c["p"]) for a in A]).reshape(-1, D)
        if c["op"] == "threshold":
            return (A > c["p"]).astype(np.float32).reshape(-1, D)
        return (np.clip(A, 0, 1) ** c["p"]).reshape(-1, D)

    def ju_new_cell(first=False):
        X = state["X"]
        kind = "head" if first else str(rng.choice(["head", "one", "sample", "unseeded", "prep", "errors", "rotate"]))
        c = {"kind": kind, "k": int(rng.choice([4, 8, 16, 32])), "i": int(rng.integers(len(X) - 32))}
        if kind == "sample":
            c["idx"] = np.random.default_rng(int(rng.integers(100))).choice(len(X), c["k"], replace=False)
        elif kind == "errors":
            c["k"] = int(rng.integers(64, 101))
        elif kind == "rotate":
            c["p"] = float(rng.choice([10.0, 15.0, 30.0, 45.0, 90.0]))
        elif kind == "prep":
            c["op"] = str(rng.choice(["blur", "threshold", "gamma"]))
            c["p"] = {"blur": 0.5, "threshold": 0.5, "gamma": 1.5}[c["op"]]
        return c

    def jupyter():
        st = state
        if "X" not in st:
            st.update(X=draw_set(int(rng.integers(*HAB["ju_set"]))), at=0)
            st["cells"] = [ju_new_cell(True)] + [ju_new_cell() for _ in range(int(rng.integers(*HAB["ju_cells"])) - 1)]
        ran = st["cells"][:st["at"]]
        edit = [c for c in ran if c["kind"] in ("prep", "rotate")]
        u = rng.random()
        if ran and u < HAB["ju_runall"]:
            for c in ran:                              # Restart & Run All
                send(ju_cell(c))
                if full():
                    return
        elif edit and u < HAB["ju_runall"] + HAB["ju_edit"]:
            c = edit[int(rng.integers(len(edit)))]
            if c["kind"] == "rotate":
                c["p"] = float(c["p"] + rng.choice([-5.0, 5.0, 15.0, -15.0]))
            elif c["op"] == "blur":
                c["p"] = float(np.clip(c["p"] + rng.choice([-0.2, 0.2, 0.3]), 0.1, 2.0))
            elif c["op"] == "threshold":
                c["p"] = float(np.clip(c["p"] + rng.choice([-0.1, 0.1, 0.2, -0.2]), 0.1, 0.9))
            else:
                c["p"] = float(np.clip(c["p"] + rng.choice([-0.25, 0.25, 0.5]), 0.3, 3.0))
            send(ju_cell(c))
        elif ran and u < HAB["ju_runall"] + HAB["ju_edit"] + HAB["ju_rerun"]:
            send(ju_cell(ran[-1]))
        else:
            if st["at"] == len(st["cells"]):
                st["cells"].append(ju_new_cell())
            send(ju_cell(st["cells"][st["at"]]))
            st["at"] += 1
        idle(int(rng.integers(*HAB["ju_think"])))

    def je_crop(team, d):
        T = state["teams"][team]
        a = T["font"][d]
        yy, xx = np.mgrid[0:32, 0:32].astype(float)
        sx = rng.uniform(1.0, 1.5)                                  # the body turned
        amp, per, ph = rng.uniform(0, 4.0), rng.uniform(10, 24), rng.uniform(0, 2 * np.pi)   # shirt folds
        a = map_coordinates(a, [yy, (xx - 16) * sx + 16 + amp * np.sin(2 * np.pi * yy / per + ph)],
                            order=1, mode="constant")
        a = gaussian_filter(a, (0.3, rng.uniform(0.3, 3.0)))        # motion blur, horizontal
        if rng.random() < 0.1:                                     # an arm or another player in front
            r0, c0 = int(rng.integers(0, 24)), int(rng.integers(0, 24))
            a[r0:r0 + 10, c0:c0 + 10] = 0.0
        g = rng.uniform(0.7, 1.0)
        img = T["shirt"] + (T["ink"] - T["shirt"]) * a * g
        return np.clip(_down8(img) + rng.normal(0, 0.02, D), 0, 1)

    def jersey():
        st = state
        if "teams" not in st:
            teams = []
            for dark_shirt in (False, True):
                width, scale, sx = rng.uniform(4.0, 6.5), rng.uniform(0.6, 0.75), rng.uniform(0.75, 0.95)
                teams.append(dict(font={c: _glyph32(DIGIT_STROKES[c], width, scale, sx) for c in "0123456789"},
                                  shirt=rng.uniform(0.7, 0.85) if dark_shirt else rng.uniform(0.05, 0.15),
                                  ink=rng.uniform(0.0, 0.1) if dark_shirt else rng.uniform(0.8, 0.95),
                                  roster=[str(v) for v in rng.choice(np.arange(1, 100), 11, replace=False)]))
            st.update(teams=teams, tracks=[], frame=0, back=rng.uniform(*HAB["je_back"]),
                      half=int(rng.integers(*HAB["je_halftime"])))
        tracks = st["tracks"]
        tracks[:] = [t for t in tracks if rng.random() >= HAB["je_switch"]]   # lost, or left the picture
        while len(tracks) < int(rng.integers(*HAB["je_players"])):
            team = int(rng.integers(2))
            tracks.append({"team": team, "num": st["teams"][team]["roster"][int(rng.integers(11))], "reads": [], "done": False})
        rows, owner = [], []
        for t in tracks:
            if t["done"] or rng.random() >= st["back"]:
                continue
            for d in t["num"]:
                rows.append(je_crop(t["team"], d))
                owner.append(t)
        st["frame"] += 1
        if rows:
            _, p = send(np.stack(rows))
            if p is not None:
                at = 0
                for t in dict.fromkeys(id(o) for o in owner):
                    tr = next(o for o in owner if id(o) == t)
                    k = len(tr["num"])
                    tr["reads"].append("".join(str(int(v)) for v in p[at:at + k].argmax(1)))
                    at += k
                    last = tr["reads"][-HAB["je_confirm"]:]
                    if (len(last) == HAB["je_confirm"] and len(set(last)) == 1) or len(tr["reads"]) >= 12:
                        tr["done"] = True
        else:
            idle(1)
        if st["frame"] % st["half"] == 0:
            tracks.clear()
            idle(int(rng.integers(20, 60)))

    def mlperf():
        st = state
        if "qsl" not in st:
            st.update(qsl=draw_set(int(rng.integers(*HAB["ml_total"]))),
                      scenario=str(rng.choice(["SingleStream", "MultiStream", "Server", "Offline"])),
                      batch=int(rng.choice(HAB["ml_batch"])), lam=rng.uniform(*HAB["ml_lambda"]))
            st.update(todo=list(rng.permutation(len(st["qsl"]))), mode="accuracy")
        sc = st["scenario"]
        if st["mode"] == "performance" and st["left"] <= 0:
            idle(int(rng.integers(*HAB["ml_idle"])))
            st["loaded"] = rng.choice(len(st["qsl"]), min(int(rng.integers(*HAB["ml_perf"])), len(st["qsl"])), replace=False)
            st["left"] = int(rng.integers(40, 121))
            return
        k = {"SingleStream": 1, "MultiStream": 8, "Offline": st["batch"]}.get(sc)
        if k is None:
            k = int(rng.poisson(st["lam"]))
            if k == 0:
                idle(1)
                return
        if st["mode"] == "accuracy":
            idx, st["todo"] = st["todo"][:k], st["todo"][k:]
            if not st["todo"]:
                st.update(mode="performance", left=int(rng.integers(40, 121)),
                          loaded=rng.choice(len(st["qsl"]), min(int(rng.integers(*HAB["ml_perf"])), len(st["qsl"])), replace=False))
        else:
            idx = st["loaded"][rng.integers(len(st["loaded"]), size=k)]
            st["left"] -= 1
        send(st["qsl"][np.asarray(idx, np.int64)])
        if sc == "SingleStream" or sc == "MultiStream":
            idle(int(rng.integers(0, 2)))

    units = {"shiftbench": shiftbench, "pipetune": pipetune, "anchors": anchors, "cleanlab": cleanlab,
             "bbsd": bbsd, "jupyter": jupyter, "jersey": jersey, "mlperf": mlperf}
    while done[0] < n_req:
        units[persona]()


# Held out 18: benign clients with habits none of dev .. heldout17 model (run_benign_heldout18).
def bc4(x):
    """Values stored as a BC4 (RGTC1 / ATI1) block-compressed single-channel texture, as Direct3D's block
    compression documents it: each 4x4 block two 8-bit endpoints (the block's maximum and minimum, the
    eight-value mode red_0 > red_1) and a 3-bit index a pixel into the palette red_0, red_1 and the six values
    between them ((6 red_0 + 1 red_1) / 7 ... (1 red_0 + 6 red_1) / 7, rounded); every pixel its nearest
    palette value (an app keeping its images as GPU textures)."""
    a = np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 255.0).reshape(-1, SIDE, SIDE)
    out = np.empty_like(a)
    for n in range(len(a)):
        for by in range(0, SIDE, 4):
            for bx in range(0, SIDE, 4):
                b = a[n, by:by + 4, bx:bx + 4]
                r0, r1 = float(b.max()), float(b.min())
                if r0 == r1:
                    out[n, by:by + 4, bx:bx + 4] = b
                    continue
                pal = np.round(np.array([r0, r1] + [((7 - k) * r0 + k * r1) / 7.0 for k in range(1, 7)]))
                out[n, by:by + 4, bx:bx + 4] = pal[np.abs(b[..., None] - pal).argmin(-1)]
    return (out / 255.0).astype(np.float32).reshape(np.shape(x))


def cineon(x):
    """Values through a Kodak Cineon / DPX 10-bit printing-density log encoding (SMPTE 268M; reference white
    685, reference black 95, 0.002 density a code value, negative gamma 0.6), as a film-scanning pipeline
    stores them, decoded back to linear: code = round(685 + 300 log10(v (1 - b) + b)), b = 10^((95 - 685)
    0.002 / 0.6), v = (10^((code - 685) 0.002 / 0.6) - b) / (1 - b)."""
    b = 10.0 ** ((95 - 685) * 0.002 / 0.6)
    v = np.clip(np.asarray(x, np.float64), 0, 1)
    code = np.clip(np.round(685 + 300.0 * np.log10(v * (1 - b) + b)), 0, 1023)
    out = (10.0 ** ((code - 685) * 0.002 / 0.6) - b) / (1 - b)
    return np.clip(out, 0, 1).astype(np.float32)


def run_benign_heldout18(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout18` (fixed with seeds 18001, 18002, 18003). Each client draws from
    its own seeded generator:
      a persona   tensorfuzz: a QA team's coverage-guided fuzzing campaign against the served model (Odena,
                    Olsson, Andersen & Goodfellow 2019, TensorFuzz: debugging neural networks with coverage-
                    guided fuzzing, ICML; as the tensorfuzz library runs it with the model's logits as the
                    coverage signal): a seed corpus of `tf_seeds` (lo, hi) pool digits, scored; every iteration
                    a corpus element chosen uniformly among the `tf_recent` newest (a recency-biased sampler),
                    a batch of `tf_batch` (one of) mutations of it (additive N(0, sigma) noise, sigma `tf_sigma`
                    (lo-hi) per client, clipped to an L-inf ball `tf_ball` (one of) about the element's oldest
                    ancestor and to [0, 1], as tensorfuzz's basic mutation with its constraint) in one request,
                    scores; a mutation whose log-probability vector lies farther than `tf_cover` (lo-hi, per
                    client) in L2 from every corpus element's is new coverage and joins the corpus; `tf_idle`
                    (lo, hi) turns between iterations; after `tf_iters` (lo, hi) iterations the campaign ends and
                    a new one starts from new seeds after `tf_campaign_idle` (lo, hi) turns;
                  lira: a privacy audit of the model by the likelihood-ratio membership inference attack
                    (Carlini, Chien, Nasr, Song, Terzis & Tramer 2022, Membership inference attacks from first
                    principles, IEEE S&P: the target model queried on each target's augmented copies; as ML
                    Privacy Meter runs audits, Murakonda & Shokri 2020): `li_targets` (lo, hi) target pool
                    digits, each with its copies shifted by up to `li_radius` (1 or 2, per client) pixels in x
                    and y (9 or 25 rows, the model's training augmentation), `li_per` (one of) targets a request,
                    scores; then as many population digits (non-members) the same way; after `li_idle` (lo, hi)
                    turns the audit runs again (the model retrained), the same targets;
                  banknote: a cash centre's banknote sorter reading each note's serial number (Feng, Ren, Zhang &
                    Suen 2014, Automatic recognition of serial numbers in bank notes, Pattern Recognition): bundles
                    of `bn_bundle` notes, one request a note (its `bn_digits` printed serial digits, the sorter's
                    crops, on the note's guilloche background, scores); `bn_fresh` of the bundles new notes from
                    the mint in serial order (consecutive serials), the rest used notes (random serials, soiled,
                    faded); `bn_refeed` of the notes rejected and fed again; `bn_idle` (lo, hi) turns between
                    bundles;
                  flipcheck: a client application that logs what it sends (photographs of its users' digits,
                    1 row a request or, `fc_app`, a share of requests with (lo, hi) rows; `fc_idle` (lo, hi) turns
                    between) and, after `fc_after` (lo, hi) requests, on the provider's model-update notice,
                    re-scores its whole logged history in pages of `fc_page` rows to count negative flips
                    (Srivastava, Nushi, Kamar, Shah & Horvitz 2020, An empirical analysis of backward compatibility
                    in machine learning systems, KDD; Yan, Xiong, Kundu, Yang, Deng, Wang, Xia & Soatto 2021,
                    Positive-congruent training: towards regression-free model updates, CVPR), then carries on
                    (and checks again after as many requests again);
                  plotdigitize: a chart-data extraction tool reading the axis tick labels of charts in papers
                    (Luo, Li, Wang, Yan & Wang 2021, ChartOCR: data extraction from charts images via a deep hybrid
                    framework, WACV): per paper `pd_charts` (lo, hi) charts in the paper's font, each chart's x and
                    y tick labels (`pd_ticks` (lo, hi) each, round values at a round step) cut into digit glyphs
                    (dark-on-white print inverted, anti-aliased at the tick's sub-pixel position; `pd_rot` of the
                    charts with y labels rotated 90 degrees), one request a chart, scores; `pd_idle` (lo, hi)
                    turns between charts, `pd_paper_idle` (lo, hi) between papers;
                  dvs: a client reading digits with an event (neuromorphic) camera as N-MNIST was recorded
                    (Orchard, Jayawant, Cohen & Thakor 2015, Converting static image datasets to spiking
                    neuromorphic datasets using saccades, Frontiers in Neuroscience): the sensor moved along the
                    three sides of a triangle (`dv_amp` (lo-hi) px, `dv_steps` sub-steps a saccade, bilinear),
                    an event wherever the log intensity changed by more than `dv_theta` (lo-hi, per client)
                    since the pixel's last event, background-activity noise `dv_noise` (lo-hi) a pixel a
                    sub-step; the events of each saccade accumulated into a frame (counts / the frame's maximum);
                    `dv_windows` of the clients send the three saccade frames one request each, the others the
                    three as one request; scores; `dv_idle` (lo, hi) turns between digits;
                  pixelflip: an explainability team evaluating attribution maps by pixel flipping (Samek, Binder,
                    Montavon, Lapuschkin & Mueller 2017, Evaluating the visualization of what a deep neural network
                    has learned, IEEE TNNLS; as Quantus's PixelFlipping runs it, Hedstroem et al. 2023, JMLR): a
                    batch of `pf_batch` (one of) pool digits, the pixels flipped in order of a method's relevance
                    (most relevant first), `pf_step` (one of) per step, replaced by the client's baseline
                    (`pf_base`: black, the image mean, or uniform noise), one request a step (the whole batch),
                    scores; `pf_methods` (lo, hi) methods per batch (the image itself, random, Sobel edges,
                    smoothed intensity, centre distance), `pf_idle` (lo, hi) turns between methods;
                  conformal: a split-conformal prediction service (Angelopoulos, Bates, Malik & Jordan 2021,
                    Uncertainty sets for image classifiers using conformal prediction, ICLR: RAPS): a labelled
                    calibration set of `cf_cal` (lo, hi) photographed pool digits scored in pages of 100, then
                    its production traffic (`cf_multi` (lo, hi) new photographs a request, scores, `cf_idle`
                    (lo, hi) turns between); every `cf_recal` (lo, hi) production images a fresh labelled
                    calibration set, scored the same way;
      number      a share `bc4` of clients send BC4 block-compressed texture values (bc4), a share `cineon`
      format      Cineon 10-bit log values (cineon);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool, photographs, renderings and transforms of them, and printed
    numerals, in [0, 1]. Every client paces requests and rows under the server's default limits."""
    from scipy.ndimage import gaussian_filter, map_coordinates, sobel
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas18"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "bc4" if u < HAB["bc4"] else ("cineon" if u < HAB["bc4"] + HAB["cineon"] else "float32")
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def draw_set(n):
        """n pool digits by popularity, distinct while the pool lasts (a data set, not a stream)."""
        idx = list(rng.choice(len(pool), min(n, len(pool)), replace=False, p=weights))
        if n > len(pool):
            idx += list(rng.choice(len(pool), n - len(pool), p=weights))
        idx = np.asarray(idx, np.int64)
        np.add.at(counts, idx, 1)
        return pool[idx].copy()

    def photo(x):
        """A photograph of a digit: now and then moved a pixel, a gain, sensor noise."""
        x = shift(x, rng) if rng.random() < 0.25 else x
        return np.clip(np.asarray(x, np.float64) * rng.uniform(0.85, 1.15) + rng.normal(0, 0.02, D), 0, 1)

    def full():
        return done[0] >= n_req

    def send(rows, scores=True):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "bc4":
            rows = bc4(rows)
        elif fmt_ == "cineon":
            rows = cineon(rows)
        done[0] += 1
        try:
            return query(h, baton, s, rows, scores=scores)
        except Refused:
            return None, None   # a benign client whose request is refused carries on

    def idle(turns):
        for _ in range(max(0, turns)):
            baton.pass_on(s)

    def pages(X, size, scores=True):
        """X in pages of `size` rows; the probabilities (None where refused), or None when the session ended."""
        out = []
        for k in range(0, len(X), size):
            if full():
                return None
            _, p = send(X[k:k + size], scores=scores)
            out.append(p if p is not None else np.full((len(X[k:k + size]), 10), np.nan, np.float32))
        return np.concatenate(out) if out else np.zeros((0, 10), np.float32)

    def logp(p):
        return np.log(np.maximum(np.asarray(p, np.float64), 1e-12))

    def tensorfuzz():
        st = state
        if "corpus" not in st:
            st.setdefault("batch", int(rng.choice(HAB["tf_batch"])))
            st.setdefault("sigma", rng.uniform(*HAB["tf_sigma"]))
            st.setdefault("ball", float(rng.choice(HAB["tf_ball"])))
            st.setdefault("cover", rng.uniform(*HAB["tf_cover"]))
            seeds = draw_set(int(rng.integers(*HAB["tf_seeds"])))
            _, p = send(seeds)
            if p is None:
                return
            st.update(corpus=[(x, x, v) for x, v in zip(seeds, logp(p))], left=int(rng.integers(*HAB["tf_iters"])))
        corpus = st["corpus"]
        x, anc, _ = corpus[len(corpus) - 1 - int(rng.integers(min(HAB["tf_recent"], len(corpus))))]
        noise = rng.normal(0, st["sigma"], (st["batch"], D))
        muts = np.clip(anc + np.clip(noise + (x - anc), -st["ball"], st["ball"]), 0, 1)
        _, p = send(muts)
        if p is not None:
            V = np.stack([c[2] for c in corpus])
            for m, v in zip(muts, logp(p)):
                if np.sqrt(((V - v) ** 2).sum(1)).min() > st["cover"]:
                    corpus.append((m, anc, v))
                    V = np.vstack([V, v])
        st["left"] -= 1
        idle(int(rng.integers(*HAB["tf_idle"])))
        if st["left"] <= 0:
            del st["corpus"]
            idle(int(rng.integers(*HAB["tf_campaign_idle"])))

    def li_copies(x, r):
        a = x.reshape(SIDE, SIDE)
        return np.stack([_shift_img(a, dy, dx).reshape(D) for dy in range(-r, r + 1) for dx in range(-r, r + 1)])

    def lira():
        st = state
        if "targets" not in st:
            n = int(rng.integers(*HAB["li_targets"]))
            st.update(targets=draw_set(n), pop=draw_set(n), r=int(rng.integers(HAB["li_radius"][0], HAB["li_radius"][1] + 1)),
                      per=int(rng.choice(HAB["li_per"])))
        for X in (st["targets"], st["pop"]):
            for k in range(0, len(X), st["per"]):
                if full():
                    return
                send(np.concatenate([li_copies(x, st["r"]) for x in X[k:k + st["per"]]]))
        idle(int(rng.integers(*HAB["li_idle"])))
        st["pop"] = draw_set(len(st["pop"]))     # a new population sample for the next audit

    def printed(d, font, cx, cy, rot=0.0, level=1.0):
        width, scale, sx, slant = font
        return _down8(_glyph32(DIGIT_STROKES[d], width, scale, sx, rot, slant, cx, cy)) * level

    def banknote():
        st = state
        if "font" not in st:
            st["font"] = (rng.uniform(3.0, 4.5), rng.uniform(0.72, 0.85), rng.uniform(0.7, 0.9), rng.uniform(0.0, 0.12))
        if not st.get("bundle"):
            fresh = rng.random() < HAB["bn_fresh"]
            if fresh:
                base = int(rng.integers(0, 10 ** HAB["bn_digits"] - HAB["bn_bundle"]))
                serials = [base + k for k in range(HAB["bn_bundle"])]
            else:
                serials = [int(rng.integers(0, 10 ** HAB["bn_digits"])) for _ in range(HAB["bn_bundle"])]
            st["bundle"] = [(f"{v:0{HAB['bn_digits']}d}", fresh) for v in serials]
            st["bg"] = (rng.uniform(0.03, 0.08), rng.uniform(0.6, 1.6), rng.uniform(0, 2 * np.pi))
        serial, fresh = st["bundle"][0]
        amp, freq, ph = st["bg"]
        yy, xx = np.mgrid[0:SIDE, 0:SIDE]
        soil = 0.0 if fresh else rng.uniform(0.02, 0.12)
        fade = 1.0 if fresh else rng.uniform(0.7, 0.95)
        dy, dx, rot = rng.normal(0, 0.4), rng.normal(0, 0.4), rng.normal(0, 1.0)
        rows = []
        for k, d in enumerate(serial):
            g = printed(d, st["font"], 16 + dx * 4 + rng.normal(0, 0.3), 16 + dy * 4 + rng.normal(0, 0.3), rot, fade)
            bgp = amp * (0.5 + 0.5 * np.sin(freq * (xx + 8 * k) + 0.7 * yy + ph)).reshape(D)
            rows.append(np.clip(g + bgp + soil + rng.normal(0, 0.02, D), 0, 1))
        send(np.stack(rows))
        if rng.random() >= HAB["bn_refeed"]:
            st["bundle"].pop(0)
        if not st["bundle"]:
            idle(int(rng.integers(*HAB["bn_idle"])))

    def flipcheck():
        st = state
        if "log" not in st:
            st.update(log=[], due=int(rng.integers(*HAB["fc_after"])))
            st["every"] = st["due"]
        if st["due"] <= 0:
            X = np.concatenate(st["log"])
            pages(X, HAB["fc_page"])
            st["due"] = st["every"]
            return
        share, (lo, hi) = HAB["fc_app"]
        n = 1 if rng.random() < share else int(rng.integers(lo, hi))
        rows = np.stack([photo(draw()) for _ in range(n)]).astype(np.float32)
        send(rows)
        st["log"].append(rows)
        st["due"] -= 1
        idle(int(rng.integers(*HAB["fc_idle"])))

    def ticks():
        step = float(rng.choice([1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000]))
        n = int(rng.integers(*HAB["pd_ticks"]))
        start = float(rng.choice([0.0, step * int(rng.integers(1, 20))]))
        return [str(int(start + k * step)) for k in range(n)]

    def plotdigitize():
        st = state
        if not st.get("charts"):
            if "charts" in st:
                idle(int(rng.integers(*HAB["pd_paper_idle"])))
            st["charts"] = int(rng.integers(*HAB["pd_charts"]))
            st["font"] = (rng.uniform(1.8, 3.2), rng.uniform(0.6, 0.8), rng.uniform(0.65, 0.85), 0.0)
        size = rng.uniform(0.92, 1.08)
        font = (st["font"][0] * size, st["font"][1] * size, st["font"][2], 0.0)
        rot_y = 90.0 if rng.random() < HAB["pd_rot"] else 0.0
        rows = []
        for axis in ("x", "y"):
            for label in ticks():
                sub = rng.uniform(-0.5, 0.5, 2)           # the tick's sub-pixel position, the same for its glyphs
                for d in label:
                    rows.append(np.clip(printed(d, font, 16 + sub[0] * 4, 16 + sub[1] * 4,
                                                rot_y if axis == "y" else 0.0, 1.0), 0, 1))
        send(np.stack(rows))
        st["charts"] -= 1
        idle(int(rng.integers(*HAB["pd_idle"])))

    def dvs():
        st = state
        if "theta" not in st:
            st.update(theta=rng.uniform(*HAB["dv_theta"]), noise=rng.uniform(*HAB["dv_noise"]),
                      windows=rng.random() < HAB["dv_windows"])
        x = draw().reshape(SIDE, SIDE).astype(np.float64)
        amp = rng.uniform(*HAB["dv_amp"])
        corners = [(0.0, 0.0), (amp, amp / 2.0), (0.0, amp), (0.0, 0.0)]   # the three sides of a triangle
        yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)

        def view(oy, ox):
            return map_coordinates(x, [yy - oy, xx - ox], order=1, mode="constant", cval=0.0)
        ref = np.log(view(0.0, 0.0) + 0.1)
        frames = []
        for (ay, ax), (by, bx) in zip(corners[:-1], corners[1:]):
            cnt = np.zeros((SIDE, SIDE))
            for t in range(1, HAB["dv_steps"] + 1):
                f = t / HAB["dv_steps"]
                L = np.log(view(ay + f * (by - ay), ax + f * (bx - ax)) + 0.1)
                ev = np.abs(L - ref) > st["theta"]
                cnt += ev
                ref = np.where(ev, L, ref)
                cnt += rng.random((SIDE, SIDE)) < st["noise"]
            frames.append((cnt / max(cnt.max(), 1.0)).reshape(D))
        if st["windows"]:
            for fr in frames:
                if full():
                    return
                send(fr[None])
        else:
            send(np.stack(frames))
        idle(int(rng.integers(*HAB["dv_idle"])))

    def relevance(x, method):
        a = x.reshape(SIDE, SIDE).astype(np.float64)
        if method == "intensity":
            r = a
        elif method == "random":
            r = rng.random((SIDE, SIDE))
        elif method == "sobel":
            r = np.hypot(sobel(a, 0), sobel(a, 1))
        elif method == "smooth":
            r = gaussian_filter(a, 1.0)
        else:
            yy, xx = np.mgrid[0:SIDE, 0:SIDE]
            r = -np.hypot(yy - 3.5, xx - 3.5)
        return r.reshape(D) + rng.random(D) * 1e-9

    def pixelflip():
        st = state
        if "step" not in st:
            st.update(step=int(rng.choice(HAB["pf_step"])), base=str(rng.choice(HAB["pf_base"])),
                      bsize=int(rng.choice(HAB["pf_batch"])))
        X = draw_set(st["bsize"]).astype(np.float64)
        methods = list(rng.permutation(["intensity", "random", "sobel", "smooth", "centre"]))[:int(rng.integers(*HAB["pf_methods"]))]
        for method in methods:
            order = [np.argsort(-relevance(x, method)) for x in X]
            if st["base"] == "black":
                fill = np.zeros_like(X)
            elif st["base"] == "mean":
                fill = np.repeat(X.mean(1, keepdims=True), D, 1)
            else:
                fill = rng.random(X.shape)
            Xp = X.copy()
            for k in range(0, D, st["step"]):
                if full():
                    return
                for i in range(len(X)):
                    j = order[i][k:k + st["step"]]
                    Xp[i, j] = fill[i, j]
                send(Xp)
            idle(int(rng.integers(*HAB["pf_idle"])))

    def conformal():
        st = state
        if st.get("left", 0) <= 0:
            cal = np.stack([photo(x) for x in draw_set(int(rng.integers(*HAB["cf_cal"])))])
            if pages(cal, 100) is None:
                return
            st["left"] = int(rng.integers(*HAB["cf_recal"]))
            return
        n = int(rng.integers(*HAB["cf_multi"]))
        send(np.stack([photo(draw()) for _ in range(n)]))
        st["left"] -= n
        idle(int(rng.integers(*HAB["cf_idle"])))

    units = {"tensorfuzz": tensorfuzz, "lira": lira, "banknote": banknote, "flipcheck": flipcheck,
             "plotdigitize": plotdigitize, "dvs": dvs, "pixelflip": pixelflip, "conformal": conformal}
    while done[0] < n_req:
        units[persona]()


# Held out 19: benign clients with habits none of dev .. heldout18 model (run_benign_heldout19).
def sz_lossy(x, eb):
    """Values through SZ's error-bounded lossy compression (Di & Cappello 2016, Fast error-bounded lossy HPC data
    compression with SZ, IPDPS; Tao, Di, Chen & Cappello 2017, Significantly improving lossy compression for
    scientific data sets based on multidimensional prediction and error-controlled quantization, IPDPS), as an app
    archiving its images in an HDF5 / Zarr store with an SZ filter (absolute error bound eb) decodes them: each 8x8
    image its own chunk, every value predicted from its decoded neighbours (the 2-D Lorenzo predictor: left + above -
    above-left, 0 outside the chunk) and the prediction error quantised linearly to a multiple of 2 eb, so that every
    decoded value is within eb of the stored one; the decoded values clipped to [0, 1] by the app's loader."""
    a = np.clip(np.asarray(x, np.float64), 0, 1).reshape(-1, SIDE, SIDE)
    r = np.zeros((len(a), SIDE + 1, SIDE + 1))
    for i in range(SIDE):
        for j in range(SIDE):
            pred = r[:, i, j + 1] + r[:, i + 1, j] - r[:, i, j]
            r[:, i + 1, j + 1] = pred + 2.0 * eb * np.round((a[:, i, j] - pred) / (2.0 * eb))
    return np.clip(r[:, 1:, 1:], 0, 1).astype(np.float32).reshape(np.shape(x))


def mxint8(x):
    """Values through the OCP Microscaling (MX) v1.0 MXINT8 format (Rouhani et al. 2023, Microscaling data formats
    for deep learning; the Open Compute Project's MX specification), as an accelerator pipeline keeps its tensors:
    blocks of 32 consecutive values (the image's rows 0-3 and 4-7) share one power-of-two scale X = 2^(floor(log2
    max |v|) - emax), emax 0 for INT8 elements, each element an 8-bit integer with an implicit scale of 2^-6 (round to
    nearest, saturating at +-127): v' = X round(64 v / X) / 64. A block whose largest value is 1 keeps steps of 1/64,
    one whose largest value is in [0.5, 1) steps of 1/128, a fainter one finer steps."""
    a = np.clip(np.asarray(x, np.float64), 0, 1).reshape(-1, 32)
    amax = a.max(1, keepdims=True)
    X = np.where(amax > 0, 2.0 ** np.floor(np.log2(np.maximum(amax, 1e-30))), 1.0)
    q = np.clip(np.round(a / X * 64.0), -127, 127)
    return np.clip(q * X / 64.0, 0, 1).astype(np.float32).reshape(np.shape(x))


# Persian (Eastern Arabic-Indic) digits as handwritten strokes in a unit box (x right, y down), the shapes the
# HODA data set's writers form (Khosravi & Kabir 2007): 0 a small ring, 1 a plain stroke, 2 and 3 a stem under a
# wave of two and three teeth, 4 the Persian four, 5 the pointed loop, 6 a hook over a stem, 7 a V, 8 a caret, 9 a
# loop with a tail.
PERSIAN_STROKES = {
    "0": [_arc(0.5, 0.55, 0.1, 0.13, 0, 360, 8)],
    "1": [[(0.42, 0.0), (0.5, 0.45), (0.52, 1.0)]],
    "2": [[(0.78, 0.0), (0.66, 0.2), (0.5, 0.06), (0.34, 0.18), (0.38, 0.55), (0.42, 1.0)]],
    "3": [[(0.86, 0.0), (0.75, 0.2), (0.63, 0.04), (0.5, 0.2), (0.37, 0.04), (0.28, 0.18), (0.34, 0.55),
           (0.4, 1.0)]],
    "4": [[(0.72, 0.02), (0.36, 0.14), (0.62, 0.3), (0.3, 0.46), (0.44, 0.72), (0.5, 1.0)]],
    "5": [[(0.5, 0.1), (0.22, 0.62), (0.3, 0.92), (0.5, 1.0), (0.7, 0.92), (0.78, 0.62), (0.5, 0.1)]],
    "6": [[(0.22, 0.05), (0.3, 0.3), (0.7, 0.22)], [(0.7, 0.0), (0.66, 0.5), (0.5, 1.0)]],
    "7": [[(0.15, 0.0), (0.5, 1.0), (0.85, 0.0)]],
    "8": [[(0.15, 1.0), (0.5, 0.0), (0.85, 1.0)]],
    "9": [_arc(0.45, 0.28, 0.24, 0.26, 0, 360, 12), [(0.69, 0.28), (0.62, 1.0)]],
}


def _iran_national_code(rng):
    """A 10-digit Iranian national code: nine digits and the check digit (sum of d_i (10 - i) mod 11; the rest if
    under 2, else 11 minus it)."""
    d = [int(v) for v in rng.integers(0, 10, 9)]
    r = sum(v * (10 - i) for i, v in enumerate(d)) % 11
    return "".join(map(str, d)) + str(r if r < 2 else 11 - r)


def _staff_lines(offset, thick):
    """Three staff lines across an 8x8 crop of a time-signature numeral (two staff spaces high: lines at its top,
    middle and bottom), anti-aliased: each row's coverage by lines of `thick` px centred at offset + 3.7 k."""
    cov = np.zeros(SIDE)
    for c in (offset, offset + 3.7, offset + 7.4):
        lo, hi = c - thick / 2, c + thick / 2
        cov += np.clip(np.minimum(np.arange(1, SIDE + 1), hi) - np.maximum(np.arange(SIDE), lo), 0, 1)
    return np.repeat(np.clip(cov, 0, 1)[:, None], SIDE, 1).reshape(D)


def run_benign_heldout19(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout19` (fixed with seeds 19001, 19002, 19003). Each client draws from its
    own seeded generator:
      a persona   autograder: a course's autograder (nbgrader's autograde, Jupyter Development Team et al. 2019,
                    nbgrader: a tool for creating and grading assignments in the Jupyter notebook, JOSE; Hamrick
                    2016, SIGCSE) run on every submission of a machine-learning assignment that calls the served
                    model: the assignment's fixed test set of `ag_set` (lo, hi) pool digits, the same for every
                    student; each run first the notebook's visible tests (`ag_public` (lo, hi) sample digits of the
                    set, one request each), then the hidden test: the whole set through the student's own
                    pre-processing in the student's batch size (`ag_batch`, one of: 1, 10, 32 or 0, the whole set in
                    one request), scores. Pre-processing as the student wrote it (`ag_bugs`, weights): right, or a
                    common mistake: the image transposed, inverted (1 - x), the 0-16 counts divided by 255, mirrored,
                    truncated to integers (astype(int): only full pixels stay), or standardised per feature over
                    the set (StandardScaler) and clipped to [0, 1]. A failing student resubmits with probability
                    `ag_retry`[0] (a passing one `ag_retry`[1]), fixing the mistake with probability `ag_fix`;
                    `ag_idle` (lo, hi) turns between runs, and after `ag_run` (lo, hi) runs (a deadline's wave of
                    submissions) `ag_run_idle` (lo, hi) turns;
                  strip: an application screening every input with STRIP (Gao, Xu, Wang, Chen, Ranasinghe & Nepal
                    2019, STRIP: a defence against trojan attacks on deep neural networks, ACSAC; as the authors'
                    code superimposes: cv2.addWeighted(x, 1, x_j, 1, 0), saturating) before it trusts the model it
                    bought: its own clean held-out set of `st_clean` (lo, hi) pool digits; each input sent with its
                    N (`st_n`, one of, per client) copies superimposed on clean digits drawn from that set (one
                    request of N + 1 rows, the input first), scores, the prediction entropy of the copies compared
                    with a threshold; the threshold first calibrated on `st_calib` (lo, hi) clean digits of the set
                    run through the same check; then production inputs (photographs of its users' digits, `st_idle`
                    (lo, hi) turns between);
                  sobol: Sobol attribution explanations (Fel, Cadene, Chalvidal, Cord, Vigouroux & Serre 2021, Look
                    at the variance! Efficient black-box explanations with Sobol-based sensitivity analysis,
                    NeurIPS; as Xplique's SobolAttributionMethod runs them: its default sampler, the unscrambled
                    Sobol sequence (TF's, without its zero point), replicated designs A, B and the d matrices C_i,
                    nearest upsampling, Jansen's estimator): per client a grid (`so_grid`, one of; d = grid^2), a
                    number of designs N (`so_design`, one of) and a perturbation (`so_pert`: inpainting, x M; or
                    blurring, x M + blur(x) (1 - M), a `so_blur` box blur), for each explained pool digit N (d + 2)
                    masked copies in requests of `so_batch` (one of) rows, scores; `so_idle` (lo, hi) turns between
                    digits;
                  tabular: a data scientist treating the 64 features as a table with scikit-learn's inspection tools:
                    an evaluation set of `tb_set` (lo, hi) pool digits scored; permutation importance (Breiman 2001;
                    Fisher, Rudin & Dominici 2019, JMLR; sklearn's permutation_importance: every feature in column
                    order, `tb_repeats` (one of) repeats, the column shuffled among the rows, the whole set one
                    request; a feature's importance the share of answers that change), then partial dependence and ICE curves (Friedman 2001; Goldstein, Kapelner, Bleich &
                    Pitkin 2015, JCGS; sklearn's brute method: the feature set to each of its grid values, the
                    distinct values it takes, in every row, one request a value) for the `tb_top` (lo, hi) most
                    important features; `tb_pdp_first` of the clients first plot two to four central pixels they
                    picked by hand; scores; after `tb_idle` (lo, hi) turns the notebook again on a fresh sample;
                  persian: a form-processing service whose applicants write Persian digits (Khosravi & Kabir 2007,
                    Introducing a very large dataset of handwritten Farsi digits and a study on their varieties,
                    Pattern Recognition Letters): each form's national code (ten digits with its check digit),
                    postal code (ten digits, no 0 or 2 among the first five), mobile number (09 and nine digits) and
                    birth date (Solar Hijri, eight digits), one request a field (its digits, scores), every writer
                    with their own pen, size, slant and tremor; a share `fa_persian` (lo-hi, per client) of the
                    forms written in Persian digits, the rest in Western digits; `fa_field_idle` (lo, hi) turns
                    between fields, `fa_idle` (lo, hi) between forms;
                  eartag: a dairy's parlour camera reading each cow's ear tag at every milking (Zin, Pwint, Seint,
                    Thant, Misawa, Sumi & Yoshida 2020, Automatic cow location tracking system using ear tag visual
                    analysis, Sensors): a herd of `et_herd` (lo, hi) cows with printed 3- or 4-digit tag numbers;
                    at each milking the cows enter in their habitual order (a few swapped, `et_absent` missing),
                    each read in `et_frames` (lo, hi) frames while it moves its head (one request a frame, the
                    tag's digits, scores), its tag faded and muddied its own way; `et_idle` (lo, hi) turns between
                    cows, `et_milk_idle` (lo, hi) between milkings;
                  rov: a subsea ROV inspecting a pipeline reads the numbered markers along it as it approaches each
                    (the underwater image formation model of Akkaynak & Treibitz 2018, A revised underwater image
                    formation model, CVPR: attenuation exp(-beta z) of the marker's radiance plus backscatter
                    B_inf (1 - exp(-beta z))): per dive the water's beta (`rv_beta`, lo-hi /m) and B_inf
                    (`rv_binf`), the lights' vignetting; `rv_markers` (lo, hi) markers in sequence, each in
                    `rv_frames` (lo, hi) frames from `rv_z0` to `rv_z1` (lo-hi) m, forward-scatter blur growing with
                    z, marine snow (`rv_snow`, lo-hi specks a frame), marine growth on `rv_growth` of the markers;
                    one request a frame (the marker's digits, scores); `rv_idle` (lo, hi) turns between markers,
                    `rv_dive_idle` (lo, hi) between dives;
                  omr: an optical music recognition pipeline digitising scanned scores (Calvo-Zaragoza, Hajic &
                    Pacha 2020, Understanding optical music recognition, ACM Computing Surveys; Tuggener et al.
                    2018, DeepScores, ICPR) sends the numerals it finds: per system (one request) its measure number
                    (`om_measures` (lo, hi) measures a system), the time signature's stacked numerals on the staff
                    (three staff lines through each) at the start of a piece and at a change (`om_change`),
                    fingerings 1-5 (`om_fingers` (lo, hi), italic, now and then beside a stem or under a slur) and
                    tuplet 3s (`om_tuplets` (lo, hi)); `om_systems` (lo, hi) systems a page, `om_pages` (lo, hi)
                    pages a piece; `om_idle`, `om_page_idle`, `om_piece_idle` (lo, hi) turns between systems, pages
                    and pieces;
      number      a share `sz` of clients send SZ error-bounded lossy compressed values (sz_lossy; absolute error
      format      bound `sz_eb`, one of, per client), a share `mxint8` OCP MXINT8 microscaling values (mxint8);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool, transforms and renderings of them, and rendered numerals, in [0, 1].
    Every client paces requests and rows under the server's default limits."""
    from scipy.ndimage import gaussian_filter, uniform_filter
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas19"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "sz" if u < HAB["sz"] else ("mxint8" if u < HAB["sz"] + HAB["mxint8"] else "float32")
    eb = float(rng.choice(HAB["sz_eb"])) if fmt_ == "sz" else None
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    if eb is not None:
        s.meta["sz_error_bound"] = eb
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def draw_set(n):
        """n pool digits by popularity, distinct while the pool lasts (a data set, not a stream)."""
        idx = list(rng.choice(len(pool), min(n, len(pool)), replace=False, p=weights))
        if n > len(pool):
            idx += list(rng.choice(len(pool), n - len(pool), p=weights))
        idx = np.asarray(idx, np.int64)
        np.add.at(counts, idx, 1)
        return pool[idx].copy()

    def photo(x):
        """A photograph of a digit: now and then moved a pixel, a gain, sensor noise."""
        x = shift(x, rng) if rng.random() < 0.25 else x
        return np.clip(np.asarray(x, np.float64) * rng.uniform(0.85, 1.15) + rng.normal(0, 0.02, D), 0, 1)

    def full():
        return done[0] >= n_req

    def send(rows, scores=True):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "sz":
            rows = sz_lossy(rows, eb)
        elif fmt_ == "mxint8":
            rows = mxint8(rows)
        done[0] += 1
        try:
            return query(h, baton, s, rows, scores=scores)
        except Refused:
            return None, None   # a benign client whose request is refused carries on

    def idle(turns):
        for _ in range(max(0, turns)):
            baton.pass_on(s)

    def autograder():
        st = state
        if "set" not in st:
            st.update(set=draw_set(int(rng.integers(*HAB["ag_set"]))).astype(np.float64), run=0,
                      run_len=int(rng.integers(*HAB["ag_run"])))
            st["public"] = rng.choice(len(st["set"]), int(rng.integers(*HAB["ag_public"])), replace=False)
        if st.get("student") is None:
            st["student"] = dict(bug=pick(rng, HAB["ag_bugs"]), batch=int(rng.choice(HAB["ag_batch"])))
        stu = st["student"]
        X = st["set"]

        def prep(A):
            A = np.asarray(A, np.float64).reshape(-1, SIDE, SIDE)
            b = stu["bug"]
            if b == "transpose":
                A = A.transpose(0, 2, 1)
            elif b == "invert":
                A = 1.0 - A
            elif b == "div255":
                A = A * 16.0 / 255.0
            elif b == "fliplr":
                A = A[:, :, ::-1]
            elif b == "astype_int":
                A = np.floor(A)
            elif b == "standardize":
                F = X.reshape(-1, D)
                mu, sd = F.mean(0), F.std(0)
                A = ((A.reshape(-1, D) - mu) / np.where(sd > 0, sd, 1.0)).reshape(-1, SIDE, SIDE)
            return np.clip(A.reshape(-1, D), 0, 1)
        for i in st["public"]:
            if full():
                return
            send(prep(X[i]))
        bsz = stu["batch"] or len(X)
        for k in range(0, len(X), bsz):
            if full():
                return
            send(prep(X[k:k + bsz]))
        failing = stu["bug"] != "ok"
        if rng.random() < HAB["ag_retry"][0 if failing else 1]:
            if failing and rng.random() < HAB["ag_fix"]:
                stu["bug"] = "ok"
        else:
            st["student"] = None
        st["run"] += 1
        idle(int(rng.integers(*HAB["ag_idle"])))
        if st["run"] >= st["run_len"]:
            st.update(run=0, run_len=int(rng.integers(*HAB["ag_run"])))
            idle(int(rng.integers(*HAB["ag_run_idle"])))

    def strip():
        st = state
        if "clean" not in st:
            st.update(clean=draw_set(int(rng.integers(*HAB["st_clean"]))).astype(np.float64),
                      n=int(rng.choice(HAB["st_n"])), calib=int(rng.integers(*HAB["st_calib"])))

        def check(x):
            js = rng.choice(len(st["clean"]), st["n"], replace=len(st["clean"]) < st["n"])
            copies = np.clip(x[None, :] + st["clean"][js], 0, 1)
            send(np.vstack([x[None, :], copies]))
        if st["calib"] > 0:
            check(st["clean"][int(rng.integers(len(st["clean"])))])
            st["calib"] -= 1
            return
        check(photo(draw()))
        idle(int(rng.integers(*HAB["st_idle"])))

    def sobol():
        st = state
        if "masks" not in st:
            from scipy.stats import qmc
            g, N = int(rng.choice(HAB["so_grid"])), int(rng.choice(HAB["so_design"]))
            d = g * g
            sq = qmc.Sobol(2 * d, scramble=False)
            sq.fast_forward(1)
            P = sq.random(N)
            A, B = P[:, :d], P[:, d:]
            C = []
            for i in range(d):
                Ci = A.copy()
                Ci[:, i] = B[:, i]
                C.append(Ci)
            M = np.concatenate([A, B] + C).reshape(-1, g, g)
            st.update(masks=np.kron(M, np.ones((SIDE // g, SIDE // g))).reshape(-1, D), grid=g, designs=N,
                      pert=str(rng.choice(HAB["so_pert"])), blur=int(rng.choice(HAB["so_blur"])),
                      batch=int(rng.choice(HAB["so_batch"])))
        x = np.asarray(draw(), np.float64)
        Mk = st["masks"]
        if st["pert"] == "inpainting":
            X = x[None, :] * Mk
        else:
            x0 = uniform_filter(x.reshape(SIDE, SIDE), size=st["blur"], mode="mirror").reshape(D)
            X = x[None, :] * Mk + (1.0 - Mk) * x0[None, :]
        for k in range(0, len(X), st["batch"]):
            if full():
                return
            send(X[k:k + st["batch"]])
        idle(int(rng.integers(*HAB["so_idle"])))

    def tabular():
        st = state
        if "X" not in st:
            st.update(X=draw_set(int(rng.integers(*HAB["tb_set"]))).astype(np.float64),
                      repeats=int(rng.choice(HAB["tb_repeats"])), pdp_first=rng.random() < HAB["tb_pdp_first"])
        X = st["X"]
        n = len(X)

        def pdp(features):
            for f in features:
                for v in np.unique(X[:, f]):
                    if full():
                        return
                    Xe = X.copy()
                    Xe[:, f] = v
                    send(Xe)
        base, _ = send(X)
        if st["pdp_first"]:
            centre = [r * SIDE + c for r in range(2, 6) for c in range(2, 6)]
            pdp(list(rng.choice(centre, int(rng.integers(2, 5)), replace=False)))
        imp = np.zeros(D)
        for f in range(D):
            order = np.arange(n)
            for _ in range(st["repeats"]):
                if full():
                    return
                rng.shuffle(order)
                Xp = X.copy()
                Xp[:, f] = X[order, f]
                lab, _ = send(Xp)
                if base is not None and lab is not None:
                    imp[f] += float(np.mean(np.asarray(lab) != np.asarray(base))) / st["repeats"]   # the score's drop
        pdp(list(np.argsort(-imp, kind="stable")[:int(rng.integers(*HAB["tb_top"]))]))
        idle(int(rng.integers(*HAB["tb_idle"])))
        del st["X"]

    def writer():
        return dict(width=rng.uniform(2.2, 3.8), scale=rng.uniform(0.6, 0.78), slant=rng.uniform(-0.15, 0.25),
                    wobble=rng.uniform(0.015, 0.045), ink=rng.uniform(0.75, 1.0), rot=rng.normal(0, 4))

    def handwritten(strokes, w):
        S = [np.asarray(l, float) + rng.normal(0, w["wobble"], (len(l), 2)) for l in strokes]
        g = _down8(_glyph32(S, w["width"] * rng.uniform(0.9, 1.1), w["scale"] * rng.uniform(0.93, 1.07), 1.0,
                            w["rot"] + rng.normal(0, 3), w["slant"], 16 + rng.normal(0, 0.8), 16 + rng.normal(0, 0.8)))
        return np.clip(g * w["ink"] + rng.normal(0, 0.015, D), 0, 1)

    def persian():
        st = state
        if "p_fa" not in st:
            st["p_fa"] = rng.uniform(*HAB["fa_persian"])
        w = writer()
        strokes = PERSIAN_STROKES if rng.random() < st["p_fa"] else DIGIT_STROKES
        postal = "".join(str(rng.choice([1, 3, 4, 5, 6, 7, 8, 9])) for _ in range(5)) + \
            "".join(str(v) for v in rng.integers(0, 10, 5))
        mobile = "09" + str(rng.choice([0, 1, 2, 3, 9])) + "".join(str(v) for v in rng.integers(0, 10, 8))
        year, month = int(rng.integers(1310, 1403)), int(rng.integers(1, 13))
        day = int(rng.integers(1, (31 if month <= 6 else 30) + 1))
        fields = [_iran_national_code(rng), postal, mobile, f"{year:04d}{month:02d}{day:02d}"]
        for fld in fields:
            if full():
                return
            send(np.stack([handwritten(strokes[c], w) for c in fld]))
            idle(int(rng.integers(*HAB["fa_field_idle"])))
        idle(int(rng.integers(*HAB["fa_idle"])))

    def eartag():
        st = state
        if "herd" not in st:
            n = int(rng.integers(*HAB["et_herd"]))
            lo = 1000 if rng.random() < 0.5 else 100
            tags = rng.choice(np.arange(lo, lo * 10), n, replace=False)
            herd = []
            for t in tags:
                mud = [(int(rng.integers(len(str(t)))), rng.uniform(1.5, 6.5), rng.uniform(1.5, 6.5),
                        rng.uniform(0.8, 1.6), rng.uniform(0.4, 0.8)) for _ in range(int(rng.integers(0, 3)))]
                herd.append(dict(tag=str(t), rot=rng.normal(0, 8), fade=rng.uniform(0.6, 1.0), mud=mud))
            st.update(herd=herd, order=list(rng.permutation(n)), queue=[], bg=rng.uniform(0.08, 0.2),
                      font=(rng.uniform(3.8, 5.0), rng.uniform(0.68, 0.8), rng.uniform(0.8, 0.95)))
        if not st["queue"]:
            if "milked" in st:
                idle(int(rng.integers(*HAB["et_milk_idle"])))
            st["milked"] = True
            order = list(st["order"])
            for k in range(len(order) - 1):
                if rng.random() < 0.3:
                    order[k], order[k + 1] = order[k + 1], order[k]
            st["queue"] = [c for c in order if rng.random() >= HAB["et_absent"]]
        cow = st["herd"][st["queue"].pop(0)]
        width, scale, sx0 = st["font"]
        yy, xx = np.mgrid[0:SIDE, 0:SIDE]
        visit_rot, sx = rng.normal(0, 10), sx0 * rng.uniform(0.85, 1.0)
        for _ in range(int(rng.integers(*HAB["et_frames"]))):
            if full():
                return
            rot = cow["rot"] + visit_rot + rng.normal(0, 3)
            dy, dx = rng.normal(0, 0.4, 2)
            rows = []
            for k, d in enumerate(cow["tag"]):
                g = _down8(_glyph32(DIGIT_STROKES[d], width, scale, sx, rot, 0.0, 16 + dx * 4, 16 + dy * 4))
                mud = np.ones(D)
                for (mk, my, mx, mr, ms) in cow["mud"]:
                    if mk == k:
                        mud -= ms * np.exp(-((yy - my) ** 2 + (xx - mx) ** 2) / (2 * mr ** 2)).reshape(D)
                a = st["bg"] + (0.95 - st["bg"]) * g * cow["fade"] * np.clip(mud, 0, 1)
                if rng.random() < 0.2:
                    a = gaussian_filter(a.reshape(SIDE, SIDE), 0.6).reshape(D)
                rows.append(np.clip(a + rng.normal(0, 0.02, D), 0, 1))
            send(np.stack(rows))
            idle(int(rng.integers(0, 2)))
        idle(int(rng.integers(*HAB["et_idle"])))

    def rov():
        st = state
        if "left" not in st or st["left"] <= 0:
            if "left" in st:
                idle(int(rng.integers(*HAB["rv_dive_idle"])))
            st.update(beta=rng.uniform(*HAB["rv_beta"]), binf=rng.uniform(*HAB["rv_binf"]),
                      vig=rng.uniform(0.1, 0.35), kp=int(rng.integers(10, 900)), step=int(rng.choice([1, 1, 1, 2, 5])),
                      left=int(rng.integers(*HAB["rv_markers"])),
                      font=(rng.uniform(4.0, 5.2), rng.uniform(0.7, 0.8), rng.uniform(0.8, 0.95)))
        number = str(st["kp"])
        st["kp"] += st["step"]
        st["left"] -= 1
        width, scale, sx = st["font"]
        yy, xx = np.mgrid[0:SIDE, 0:SIDE]
        vig = (1.0 - st["vig"] * (((yy - 3.5) ** 2 + (xx - 3.5) ** 2) / 24.5)).reshape(D)
        growth = [None] * len(number)
        if rng.random() < HAB["rv_growth"]:
            k = int(rng.integers(len(number)))
            gy, gx, gr, gs = rng.uniform(0, 7), rng.uniform(0, 7), rng.uniform(1.0, 2.5), rng.uniform(0.3, 0.7)
            growth[k] = 1.0 - gs * np.exp(-((yy - gy) ** 2 + (xx - gx) ** 2) / (2 * gr ** 2)).reshape(D)
        nf = int(rng.integers(*HAB["rv_frames"]))
        z0, z1 = rng.uniform(*HAB["rv_z0"]), rng.uniform(*HAB["rv_z1"])
        snow = rng.uniform(*HAB["rv_snow"])
        rot0 = rng.normal(0, 4)
        for z in np.linspace(z0, z1, nf):
            if full():
                return
            t = np.exp(-st["beta"] * z)
            back = st["binf"] * (1.0 - t)
            rot, dy, dx = rot0 + rng.normal(0, 2), rng.normal(0, 0.3), rng.normal(0, 0.3)
            rows = []
            for k, d in enumerate(number):
                g = _down8(_glyph32(DIGIT_STROKES[d], width, scale, sx, rot, 0.0, 16 + dx * 4, 16 + dy * 4))
                J = 0.15 + 0.8 * g * (growth[k] if growth[k] is not None else 1.0)
                a = gaussian_filter((J * t + back).reshape(SIDE, SIDE), 0.2 + 0.12 * z).reshape(D) * vig
                for _ in range(int(rng.poisson(snow))):
                    a[int(rng.integers(D))] += rng.uniform(0.3, 0.7)
                rows.append(np.clip(a + rng.normal(0, 0.015, D), 0, 1))
            send(np.stack(rows))
            idle(int(rng.integers(0, 2)))
        idle(int(rng.integers(*HAB["rv_idle"])))

    def omr():
        st = state
        if "edition" not in st:
            st["edition"] = dict(bold=rng.uniform(4.8, 6.0), thin=rng.uniform(2.4, 3.2), slant=rng.uniform(0.15, 0.3),
                                 boxed=rng.random() < 0.3, staff=rng.uniform(0.35, 0.6), paper=rng.uniform(0.02, 0.08),
                                 gain=rng.uniform(0.85, 1.0))
        ed = st["edition"]
        if st.get("systems", 0) <= 0:
            if st.get("pages", 0) <= 0:
                if "pages" in st:
                    idle(int(rng.integers(*HAB["om_piece_idle"])))
                sigs = [(4, 4), (3, 4), (2, 4), (6, 8), (3, 8), (2, 2), (12, 8), (9, 8), (5, 4), (7, 8), (3, 2), (6, 4)]
                st.update(pages=int(rng.integers(*HAB["om_pages"])), measure=1, time=sigs[int(rng.integers(len(sigs)))],
                          new_time=True, sigs=sigs)
            else:
                idle(int(rng.integers(*HAB["om_page_idle"])))
            st["pages"] -= 1
            st["systems"] = int(rng.integers(*HAB["om_systems"]))

        def scanned(g):
            return np.clip(ed["paper"] + ed["gain"] * g + rng.normal(0, 0.02, D), 0, 1)

        def numeral(d, width, slant, scale):
            return _down8(_glyph32(DIGIT_STROKES[d], width * rng.uniform(0.95, 1.05), scale, 1.0, rng.normal(0, 1),
                                   slant, 16 + rng.normal(0, 0.5), 16 + rng.normal(0, 0.5)))
        rows = []
        for d in str(st["measure"]):
            g = numeral(d, ed["thin"], 0.0, 0.62)
            if ed["boxed"]:
                box = np.zeros((SIDE, SIDE))
                box[0, :] = box[-1, :] = box[:, 0] = box[:, -1] = 0.5
                g = np.maximum(g, box.reshape(D))
            rows.append(scanned(g))
        if st["new_time"] or rng.random() < HAB["om_change"]:
            if not st["new_time"]:
                st["time"] = st["sigs"][int(rng.integers(len(st["sigs"])))]
            st["new_time"] = False
            lines = _staff_lines(rng.uniform(0.1, 0.5), ed["staff"])
            for d in str(st["time"][0]) + str(st["time"][1]):
                rows.append(scanned(np.maximum(numeral(d, ed["bold"], 0.0, 0.85), lines)))
        marks = ["f"] * int(rng.integers(*HAB["om_fingers"])) + ["t"] * int(rng.integers(*HAB["om_tuplets"]))
        for m in rng.permutation(marks):
            if m == "f":
                d = str(int(rng.choice([1, 2, 3, 4, 5], p=[0.25, 0.25, 0.22, 0.15, 0.13])))
                g = numeral(d, ed["thin"], ed["slant"], 0.7)
                extra = np.zeros((SIDE, SIDE))
                if rng.random() < 0.3:
                    extra[:, 0 if rng.random() < 0.5 else SIDE - 1] = rng.uniform(0.5, 0.8)
                if rng.random() < 0.15:
                    cx = np.arange(SIDE)
                    extra[np.clip(np.round(1.0 + 0.12 * (cx - 3.5) ** 2).astype(int), 0, SIDE - 1), cx] = 0.6
                rows.append(scanned(np.maximum(g, extra.reshape(D))))
            else:
                g = numeral("3", ed["thin"] * 1.2, ed["slant"], 0.6)
                if rng.random() < 0.5:
                    br = np.zeros((SIDE, SIDE))
                    br[0, :2] = br[0, -2:] = 0.6
                    br[:2, 0] = br[:2, -1] = 0.6
                    g = np.maximum(g, br.reshape(D))
                rows.append(scanned(g))
        send(np.stack(rows))
        st["measure"] += int(rng.integers(*HAB["om_measures"]))
        st["systems"] -= 1
        idle(int(rng.integers(*HAB["om_idle"])))

    units = {"autograder": autograder, "strip": strip, "sobol": sobol, "tabular": tabular, "persian": persian,
             "eartag": eartag, "rov": rov, "omr": omr}
    while done[0] < n_req:
        units[persona]()


# ---------------------------------------------------------------------------------------------
# Held out 20: benign clients with habits none of dev .. heldout19 model (run_benign_heldout20).
_CDF97 = (-1.586134342059924, -0.052980118572961, 0.882911075530934, 0.443506852043971, 1.230174104914001)


def _dwt97_1d(x, inverse=False):
    """The irreversible CDF 9/7 wavelet of JPEG 2000 Part 1 (ITU-T T.800 Annex F, lifting steps with whole-sample
    symmetric extension) along the last axis of an even-length signal: forward returns [low | high]."""
    a, b, g, d, K = _CDF97
    n = x.shape[-1]

    def ext(v, i):
        i = np.where(i < 0, -i, i)
        return v[..., np.where(i >= n, 2 * (n - 1) - i, i)]
    idx_o, idx_e = np.arange(1, n, 2), np.arange(0, n, 2)
    if not inverse:
        v = np.array(x, np.float64)
        for coef, upd in ((a, idx_o), (b, idx_e), (g, idx_o), (d, idx_e)):
            v[..., upd] += coef * (ext(v, upd - 1) + ext(v, upd + 1))
        return np.concatenate([v[..., idx_e] / K, v[..., idx_o] * K], -1)
    v = np.empty_like(np.asarray(x, np.float64))
    v[..., idx_e] = x[..., :n // 2] * K
    v[..., idx_o] = x[..., n // 2:] / K
    for coef, upd in ((d, idx_e), (g, idx_o), (b, idx_e), (a, idx_o)):
        v[..., upd] -= coef * (ext(v, upd - 1) + ext(v, upd + 1))
    return v


def _dwt97_2d(a, levels=2, inverse=False):
    a = np.array(a, np.float64)
    sizes = [SIDE >> k for k in range(levels)]
    for s_ in (sizes if not inverse else sizes[::-1]):
        blk = a[..., :s_, :s_]
        if not inverse:
            blk = _dwt97_1d(blk)
            blk = np.swapaxes(_dwt97_1d(np.swapaxes(blk, -1, -2)), -1, -2)
        else:
            blk = np.swapaxes(_dwt97_1d(np.swapaxes(blk, -1, -2), inverse=True), -1, -2)
            blk = _dwt97_1d(blk, inverse=True)
        a[..., :s_, :s_] = blk
    return a


def _jp2_subbands():
    """Subband labels of a 2-level decomposition of 8x8 and each subband's synthesis basis L2 norm."""
    lab = np.zeros((SIDE, SIDE), np.int64)
    lab[:4, 4:], lab[4:, :4], lab[4:, 4:] = 1, 2, 3
    lab[:2, 2:4], lab[2:4, :2], lab[2:4, 2:4] = 4, 5, 6
    lab[:2, :2] = 7
    norms = np.zeros(8)
    for b in range(1, 8):
        ii = np.argwhere(lab == b)
        nb = []
        for i, j in ii:
            c = np.zeros((SIDE, SIDE))
            c[i, j] = 1.0
            nb.append(np.linalg.norm(_dwt97_2d(c, inverse=True)))
        norms[b] = np.mean(nb)
    return lab, norms


_JP2_BANDS = None


def jp2_lossy(x, step):
    """Values through JPEG 2000 lossy (irreversible) coding as an archive storing its scans as JPEG 2000 (the DICOM
    and digital-cinema codec; as OpenJPEG encodes with the 9/7 path) decodes them: 8-bit samples, DC level shift,
    two levels of the 2-D CDF 9/7 DWT (_dwt97_1d), every subband through the dead-zone scalar quantiser of T.800
    (q = sign(y) floor(|y| / D_b)) with D_b the base step `step` (on the 0-255 scale) divided by the subband's
    synthesis basis norm (so that every subband's quantisation error weighs the same in the image, as OpenJPEG
    derives its explicit steps from the 9/7 norms), decoded at the bin's mid-point (r = 0.5, OpenJPEG's), inverse
    DWT, level shift back, rounded and clipped to 8 bits."""
    global _JP2_BANDS
    if _JP2_BANDS is None:
        _JP2_BANDS = _jp2_subbands()
    lab, norms = _JP2_BANDS
    a = np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 255.0).reshape(-1, SIDE, SIDE) - 128.0
    c = _dwt97_2d(a)
    Db = step / norms[lab]
    Db[lab == 0] = step
    q = np.sign(c) * np.floor(np.abs(c) / Db)
    r = np.where(q != 0, np.sign(q) * (np.abs(q) + 0.5) * Db, 0.0)
    out = np.clip(np.round(_dwt97_2d(r, inverse=True) + 128.0), 0, 255) / 255.0
    return out.astype(np.float32).reshape(np.shape(x))


def jpegls_near(x, near):
    """Values through JPEG-LS near-lossless coding (ITU-T T.87 / ISO 14495-1; LOCO-I, Weinberger, Seroussi & Sapiro
    2000, IEEE TIP; the DICOM transfer syntax 1.2.840.10008.1.2.4.81) as an archive storing its images with NEAR =
    `near` decodes them: 8-bit samples in raster order, each predicted from its reconstructed neighbours a (left), b
    (above), c (above-left), d (above-right) (the line above the first is 0; a line's first a and c are the samples
    above and above that, its last d its b); where the local gradients d - b, b - c, c - a are all within NEAR, run
    mode: samples within NEAR of a are reconstructed as a exactly until one is not (or the line ends), that one
    predicted by b if |a - b| > NEAR else by a (run interruption); elsewhere the median edge detector predictor
    (min(a, b) if c >= max(a, b), max(a, b) if c <= min(a, b), else a + b - c); the prediction error quantised to
    a multiple of 2 NEAR + 1 (q = sign(e) floor((|e| + NEAR) / (2 NEAR + 1))), so every sample is within NEAR of
    the original. (The context-dependent bias correction, which moves predictions, not the bound, is left out.)"""
    A = np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 255.0).reshape(-1, SIDE, SIDE).astype(np.int64)
    out = np.zeros_like(A)
    Q = 2 * near + 1

    def quant(v, p):
        e = v - p
        q = (abs(e) + near) // Q
        return int(np.clip(p + (q if e >= 0 else -q) * Q, 0, 255))
    for n in range(len(A)):
        R = np.zeros((SIDE + 1, SIDE + 2), np.int64)   # row 0 and the outer columns: the zero line / extensions
        for i in range(SIDE):
            j = 0
            while j < SIDE:
                b, d = R[i, j + 1], R[i, j + 2] if j + 1 < SIDE else R[i, j + 1]
                a = R[i + 1, j] if j > 0 else b
                c = R[i, j] if j > 0 else (R[i - 1, j + 1] if i > 0 else 0)
                if abs(d - b) <= near and abs(b - c) <= near and abs(c - a) <= near:
                    while j < SIDE and abs(int(A[n, i, j]) - a) <= near:
                        R[i + 1, j + 1] = a
                        j += 1
                    if j < SIDE:
                        b = R[i, j + 1]
                        R[i + 1, j + 1] = quant(int(A[n, i, j]), b if abs(a - b) > near else a)
                        j += 1
                    continue
                p = min(a, b) if c >= max(a, b) else (max(a, b) if c <= min(a, b) else a + b - c)
                R[i + 1, j + 1] = quant(int(A[n, i, j]), p)
                j += 1
        out[n] = R[1:, 1:SIDE + 1]
    return (out / 255.0).astype(np.float32).reshape(np.shape(x))


def _dense_path(strokes, step=0.02, joined=False):
    """Polylines (unit box) resampled every `step`; joined: one continuous path (the pen never lifts), each stroke's
    start reached from the last one's end."""
    out = []
    for line in strokes:
        P = np.asarray(line, float)
        if len(P) == 1:
            P = np.vstack([P, P])
        seg = np.linalg.norm(np.diff(P, axis=0), axis=1)
        t = np.concatenate([[0], np.cumsum(seg)])
        tt = np.arange(0, t[-1] + 1e-9, step) if t[-1] > 0 else np.zeros(1)
        out.append(np.stack([np.interp(tt, t, P[:, 0]), np.interp(tt, t, P[:, 1])], 1))
    if joined:
        return [np.concatenate(out)]
    return out


# Variants a historical Swedish hand forms (as in ARDIS's church records): the European 1 with its long up-stroke,
# the crossed 7 and the closed 4.
CHURCH_STROKES = dict(DIGIT_STROKES)
CHURCH_STROKES.update({
    "1": [[(0.2, 0.35), (0.58, 0.0), (0.55, 1.0)]],
    "7": [[(0.12, 0.05), (0.85, 0.0), (0.42, 1.0)], [(0.38, 0.52), (0.8, 0.48)]],
    "4": [[(0.62, 1.0), (0.62, 0.0), (0.12, 0.68), (0.9, 0.68)], [(0.12, 0.68), (0.3, 0.05)]],
})


def run_benign_heldout20(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout20` (fixed with seeds 20001, 20002, 20003). Each client draws from its
    own seeded generator:
      a persona   preddiff: prediction difference analysis explanations (Zintgraf, Cohen, Adel & Welling 2017,
                    Visualizing deep neural network decisions: prediction difference analysis, ICLR; as the
                    authors' DeepVis-PredDiff runs it): a data set of `pd_set` (lo, hi) pool digits to fit the
                    sampler; each explained pool digit asked alone, then every k x k window (k `pd_win`, one of, per
                    client; stride 1) replaced by `pd_samples` samples: conditional sampling (a multivariate Gaussian
                    of the window's pixels given the frame of `pd_pad` pixels around it, fitted on the data set) or,
                    for `pd_marginal` of the clients, marginal sampling (each window pixel's value from a random
                    data-set digit); the samples in requests of `pd_batch` (one of, per client) rows, scores;
                    `pd_idle` (lo, hi) turns between digits;
                  spark: a nightly Apache Spark batch job scoring the day's uploads (Zaharia et al. 2012, Resilient
                    distributed datasets, NSDI; speculative execution after Zaharia, Konwinski, Joseph, Katz &
                    Stoica 2008, Improving MapReduce performance in heterogeneous environments, OSDI):
                    `sp_parts` (lo, hi) partitions of `sp_part` (lo, hi) photographed pool digits, mapPartitions
                    calling the model in mini-batches of `sp_batch` (one of, per client) rows, `sp_slots` (lo, hi)
                    tasks at a time (their mini-batches interleaved); `sp_slow` of the tasks straggle (half speed)
                    and, once `sp_quantile` of the tasks are done, get a speculative copy on a free slot (the
                    partition from its start; the first attempt to finish wins, the other is killed); a task attempt
                    fails after a mini-batch with `sp_fail` and is retried from its start (at most 4 attempts);
                    `sp_idle` (lo, hi) turns between nights, `sp_backfill` of the nights re-run the last night's job
                    first (the same partitions);
                  dynabench: a crowd worker on an adversarial data-collection task (Kiela et al. 2021, Dynabench:
                    rethinking benchmarking in NLP, NAACL; the digits task of its model-in-the-loop interface): told
                    which digit to write and to fool the model with a digit a person still reads correctly, the
                    worker writes it in their own hand and submits (one row, scores); while the model reads it
                    right, an edit (a stroke added, part of a stroke rubbed out, more slant, a thicker or thinner
                    pen, a point of a stroke moved) and a resubmission, at most `db_tries` (lo, hi); `db_idle` (lo,
                    hi) turns between tries, `db_task_idle` (lo, hi) between tasks;
                  churchbook: a genealogy archive reading dates in historical Swedish parish records, the source of
                    ARDIS (Kusetogullari, Yavariabdi, Cheddad, Grahn & Hall 2020, ARDIS: a Swedish historical
                    handwritten digit dataset, Neural Computing and Applications): each book written by one
                    minister (his hand: the European 1, the crossed 7, the closed 4; pen, size, slant), its records
                    in date order over `cb_years` (lo, hi) years from 1850-1920, each record's date (day, month,
                    year: 4-8 digits) one request, scores; ink faded, paper yellowed and stained as the scan's
                    inversion leaves it; `cb_idle` (lo, hi) turns between records, `cb_page_idle` after each page of
                    `cb_page` (lo, hi) records, `cb_book_idle` between books;
                  airwrite: digits written in the air with a fingertip, tracked by a hand tracker (Chen, AlRegib &
                    Juang 2016, Air-writing recognition, part I: modeling and recognition of characters, words, and
                    connecting motions, IEEE Transactions on Human-Machine Systems): the path never lifts, so the
                    moves between strokes are drawn, and the segmenter's cut keeps `aw_lead` (lo-hi) of the move
                    from the last digit; hand jitter; rendered with the app's pen; numbers of `aw_len` (lo, hi)
                    digits, each digit its own request (or, for `aw_whole` of the clients, the whole number one
                    request), scores; a digit the app misreads is written again once; `aw_idle` (lo, hi) turns
                    between digits, `aw_num_idle` between numbers;
                  tyredot: a tyre shop's app reading the DOT date code (week and year, four digits) moulded into
                    each tyre's sidewall (Kazmi, Nabney, Vogiatzis, Rose & Codd 2020, An efficient industrial
                    system for vehicle tyre (tire) detection and text recognition using deep learning, IEEE T-ITS):
                    black on black, so the digits are only the shading of their relief under the phone's flash (its
                    angle per shot), on the sidewall's curve and rubber texture, contrast-stretched by the app;
                    every tyre of a car (4, `td_spare` 5) one request a shot (its 4 digits, scores), shot again
                    (`td_shots` at most) while a digit's top probability is under 0.6; the shop's `td_brands`
                    moulding fonts; `td_idle` (lo, hi) turns between tyres, `td_car_idle` between cars;
                  datestamp: a registry office reading the rubber date stamp on incoming letters: the stamp's
                    digits (day and year, 6 a stamp) in the dater's font, the ink pad's load falling over
                    `ds_reink` (lo, hi) impressions from blobby to faint, then re-inked; pressure uneven across the
                    stamp, rotated a little; one request a letter (its digits, scores); the date advances after
                    `ds_day` (lo, hi) letters; `ds_idle` (lo, hi) turns between letters, `ds_day_idle` between days;
                  tremor: a clinic's handwriting assessment for movement disorders on a tablet (Drotar, Mekyska,
                    Rektorova, Masarova, Smekal & Faundez-Zanuy 2016, Evaluation of handwriting kinematics and
                    pressure for differential diagnosis of Parkinson's disease, Artificial Intelligence in
                    Medicine: the PaHaW tasks): each patient copies the digits 0-9 `tr_rounds` (lo, hi) times, each
                    digit one request (scores); the patient's tremor (amplitude `tr_amp` lo-hi of the box at 4-7
                    cycles a unit of path), micrographia (the writing shrinking by `tr_micro` lo-hi a digit); `tr_idle`
                    (lo, hi) turns between digits, `tr_patient_idle` between patients;
      number      a share `jp2` of clients send JPEG 2000 lossy values (jp2_lossy; base step `jp2_step`, one of, per
      format      client), a share `jpegls` JPEG-LS near-lossless values (jpegls_near; NEAR `jpegls_near`, one of);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool, samples and transforms of them, and rendered numerals, in [0, 1].
    Every client paces requests and rows under the server's default limits."""
    from scipy.ndimage import gaussian_filter, map_coordinates
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas20"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "jp2" if u < HAB["jp2"] else ("jpegls" if u < HAB["jp2"] + HAB["jpegls"] else "float32")
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    fparam = None
    if fmt_ == "jp2":
        fparam = float(rng.choice(HAB["jp2_step"]))
        s.meta["jp2_step"] = fparam
    elif fmt_ == "jpegls":
        fparam = int(rng.choice(HAB["jpegls_near"]))
        s.meta["jpegls_near"] = fparam
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def draw_set(n):
        idx = list(rng.choice(len(pool), min(n, len(pool)), replace=False, p=weights))
        if n > len(pool):
            idx += list(rng.choice(len(pool), n - len(pool), p=weights))
        idx = np.asarray(idx, np.int64)
        np.add.at(counts, idx, 1)
        return pool[idx].copy()

    def photo(x):
        x = shift(x, rng) if rng.random() < 0.25 else x
        return np.clip(np.asarray(x, np.float64) * rng.uniform(0.85, 1.15) + rng.normal(0, 0.02, D), 0, 1)

    def full():
        return done[0] >= n_req

    def send(rows, scores=True):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "jp2":
            rows = jp2_lossy(rows, fparam)
        elif fmt_ == "jpegls":
            rows = jpegls_near(rows, fparam)
        done[0] += 1
        try:
            return query(h, baton, s, rows, scores=scores)
        except Refused:
            return None, None

    def idle(turns):
        for _ in range(max(0, turns)):
            baton.pass_on(s)

    def preddiff():
        st = state
        if "data" not in st:
            st.update(data=draw_set(int(rng.integers(*HAB["pd_set"]))).astype(np.float64).reshape(-1, SIDE, SIDE),
                      k=int(rng.choice(HAB["pd_win"])), marginal=rng.random() < HAB["pd_marginal"],
                      batch=int(rng.choice(HAB["pd_batch"])), cache={})
        k, Xd, l = st["k"], st["data"], HAB["pd_pad"]
        x = np.asarray(draw(), np.float64).reshape(SIDE, SIDE)
        send(x.reshape(1, D))
        rows = []
        for i in range(SIDE - k + 1):
            for j in range(SIDE - k + 1):
                win = np.zeros((SIDE, SIDE), bool)
                win[i:i + k, j:j + k] = True
                S = np.zeros((SIDE, SIDE), bool)
                S[max(0, i - l):i + k + l, max(0, j - l):j + k + l] = True
                S &= ~win
                n = HAB["pd_samples"]
                xs = np.repeat(x[None], n, 0)
                if st["marginal"]:
                    xs[:, win] = Xd[rng.integers(len(Xd), size=n)][:, win]
                else:
                    if (i, j) not in st["cache"]:
                        F = np.concatenate([Xd[:, win], Xd[:, S]], 1)
                        mu = F.mean(0)
                        C = np.cov(F, rowvar=False) + 1e-3 * np.eye(F.shape[1])
                        w = int(win.sum())
                        Cws, Css = C[:w, w:], C[w:, w:]
                        Aw = Cws @ np.linalg.inv(Css)
                        L = np.linalg.cholesky(C[:w, :w] - Aw @ Cws.T + 1e-6 * np.eye(w))
                        st["cache"][(i, j)] = (mu[:w], mu[w:], Aw, L)
                    mw, ms, Aw, L = st["cache"][(i, j)]
                    m = mw + Aw @ (x[S] - ms)
                    xs[:, win] = m[None] + rng.normal(0, 1, (n, len(m))) @ L.T
                rows.append(np.clip(xs.reshape(n, D), 0, 1))
        R = np.concatenate(rows)
        for a in range(0, len(R), st["batch"]):
            if full():
                return
            send(R[a:a + st["batch"]])
        idle(int(rng.integers(*HAB["pd_idle"])))

    def spark():
        st = state
        if "batch" not in st:
            st.update(batch=int(rng.choice(HAB["sp_batch"])), slots=int(rng.integers(*HAB["sp_slots"])), last=None)
        if st["last"] is not None and rng.random() < HAB["sp_backfill"]:
            parts = st["last"]
        else:
            parts = [np.stack([photo(draw()) for _ in range(int(rng.integers(*HAB["sp_part"])))])
                     for _ in range(int(rng.integers(*HAB["sp_parts"])))]
        st["last"] = parts
        P, bs = len(parts), st["batch"]
        nb = [int(np.ceil(len(p) / bs)) for p in parts]
        slow = [rng.random() < HAB["sp_slow"] for _ in parts]
        queue = list(range(P))
        attempts = [0] * P
        finished = [False] * P
        speculated = [False] * P
        running = []
        while (queue or running) and not full():
            while queue and len(running) < st["slots"]:
                p = queue.pop(0)
                attempts[p] += 1
                running.append(dict(p=p, pos=0, spec=False))
            if not queue and len(running) < st["slots"] and sum(finished) >= HAB["sp_quantile"] * P:
                for t in list(running):
                    if slow[t["p"]] and not speculated[t["p"]] and len(running) < st["slots"]:
                        speculated[t["p"]] = True
                        running.append(dict(p=t["p"], pos=0, spec=True))
            for t in list(running):
                if not any(r is t for r in running):
                    continue
                p = t["p"]
                if slow[p] and not t["spec"] and rng.random() < 0.5:
                    continue
                if full():
                    return
                send(parts[p][t["pos"] * bs:(t["pos"] + 1) * bs])
                t["pos"] += 1
                if t["pos"] >= nb[p]:
                    finished[p] = True
                    running = [r for r in running if r["p"] != p]
                elif rng.random() < HAB["sp_fail"]:
                    running = [r for r in running if r is not t]
                    if attempts[p] < 4 and not any(r["p"] == p for r in running):
                        queue.insert(0, p)
            idle(int(rng.integers(0, 2)))
        idle(int(rng.integers(*HAB["sp_idle"])))

    def writer():
        return dict(width=rng.uniform(2.2, 3.8), scale=rng.uniform(0.6, 0.78), slant=rng.uniform(-0.15, 0.25),
                    wobble=rng.uniform(0.015, 0.045), ink=rng.uniform(0.75, 1.0), rot=rng.normal(0, 4))

    def render(strokes, w, jitter=True, width=None, scale=None):
        S = [np.asarray(l, float) + (rng.normal(0, w["wobble"], (len(l), 2)) if jitter else 0) for l in strokes]
        return _down8(_glyph32(S, (width or w["width"]) * rng.uniform(0.9, 1.1),
                               (scale or w["scale"]) * rng.uniform(0.95, 1.05), 1.0, w["rot"] + rng.normal(0, 2),
                               w["slant"], 16 + rng.normal(0, 0.7), 16 + rng.normal(0, 0.7)))

    def dynabench():
        t = str(int(rng.integers(10)))
        w = writer()
        strokes = [np.asarray(l, float).copy() for l in DIGIT_STROKES[t]]
        tries = int(rng.integers(*HAB["db_tries"]))
        for _ in range(tries):
            if full():
                return
            x = np.clip(render(strokes, w, jitter=False) * w["ink"] + rng.normal(0, 0.01, D), 0, 1)
            lab, _ = send(x)
            if lab is None or int(lab[0]) != int(t):
                break
            e = int(rng.integers(5))
            if e == 0:
                p0 = rng.uniform(0.1, 0.9, 2)
                strokes.append(np.stack([p0, np.clip(p0 + rng.normal(0, 0.25, 2), 0, 1)]))
            elif e == 1:
                li = int(rng.integers(len(strokes)))
                L = strokes[li]
                if len(L) > 3:
                    c = int(rng.integers(1, len(L) - 1))
                    strokes[li:li + 1] = [L[:c], L[c + 1:]]
            elif e == 2:
                w["slant"] += rng.choice([-1, 1]) * 0.12
            elif e == 3:
                w["width"] = float(np.clip(w["width"] + rng.choice([-1, 1]) * 0.6, 1.6, 5.0))
            else:
                li = int(rng.integers(len(strokes)))
                strokes[li] = strokes[li].copy()
                strokes[li][int(rng.integers(len(strokes[li])))] += rng.normal(0, 0.12, 2)
            idle(int(rng.integers(*HAB["db_idle"])))
        idle(int(rng.integers(*HAB["db_task_idle"])))

    def churchbook():
        st = state
        if "book" not in st:
            y0 = int(rng.integers(1850, 1915))
            w = writer()
            w.update(ink=rng.uniform(0.5, 0.9))
            st["book"] = dict(w=w, date=np.datetime64(f"{y0}-01-01") + int(rng.integers(0, 200)),
                              end=np.datetime64(f"{y0 + int(rng.integers(*HAB['cb_years']))}-12-31"),
                              paper=rng.uniform(0.04, 0.18), page=int(rng.integers(*HAB["cb_page"])))
        b = st["book"]
        b["date"] = b["date"] + int(rng.integers(0, 6))
        y, m, d = str(b["date"]).split("-")
        text = str(int(d)) + str(int(m)) + y
        stain = gaussian_filter(rng.normal(0, 1, (SIDE, SIDE)), 1.5).reshape(D)
        rows = []
        for ch in text:
            g = render(CHURCH_STROKES[ch], b["w"])
            rows.append(np.clip(g * b["w"]["ink"] * rng.uniform(0.85, 1.05) + b["paper"]
                                + 0.05 * stain + rng.normal(0, 0.015, D), 0, 1))
        send(np.stack(rows))
        b["page"] -= 1
        idle(int(rng.integers(*HAB["cb_idle"])))
        if b["page"] <= 0:
            b["page"] = int(rng.integers(*HAB["cb_page"]))
            idle(int(rng.integers(*HAB["cb_page_idle"])))
        if b["date"] > b["end"]:
            del st["book"]
            idle(int(rng.integers(*HAB["cb_book_idle"])))

    def airwrite():
        st = state
        if "w" not in st:
            st.update(w=writer(), whole=rng.random() < HAB["aw_whole"], pen=rng.uniform(2.4, 3.6),
                      end=np.array([0.5, 0.5]))
        w = st["w"]

        def trace(ch):
            path = _dense_path(DIGIT_STROKES[ch], 0.03, joined=True)[0]
            lead = rng.uniform(*HAB["aw_lead"])
            start = st["end"] + (path[0] - st["end"]) * (1 - lead)
            P = np.vstack([_dense_path([[tuple(start), tuple(path[0])]], 0.03)[0], path])
            P = P + gaussian_filter(rng.normal(0, 0.03, P.shape), (2, 0))
            st["end"] = path[-1] - np.array([0.8, 0.0])   # where the finger ends, in the next digit's box
            return np.clip(_down8(_glyph32([P], st["pen"], w["scale"], 1.0, w["rot"], w["slant"])) * w["ink"]
                           + rng.normal(0, 0.01, D), 0, 1)
        num = [str(int(v)) for v in rng.integers(0, 10, int(rng.integers(*HAB["aw_len"])))]
        if st["whole"]:
            send(np.stack([trace(c) for c in num]))
        else:
            for c in num:
                if full():
                    return
                lab, _ = send(trace(c))
                if lab is not None and int(lab[0]) != int(c) and not full():
                    send(trace(c))
                idle(int(rng.integers(*HAB["aw_idle"])))
        st["end"] = np.array([0.5, 0.5])
        idle(int(rng.integers(*HAB["aw_num_idle"])))

    def tyredot():
        st = state
        if "fonts" not in st:
            st["fonts"] = [dict(width=rng.uniform(3.0, 4.2), scale=rng.uniform(0.62, 0.76), sx=rng.uniform(0.7, 0.9))
                           for _ in range(int(rng.integers(*HAB["td_brands"])))]
        code = f"{int(rng.integers(1, 53)):02d}{int(rng.integers(15, 26)):02d}"
        same = rng.random() < 0.6
        yy, xx = np.mgrid[0:32, 0:32].astype(float)
        for _tyre in range(5 if rng.random() < HAB["td_spare"] else 4):
            if not same:
                code = f"{int(rng.integers(1, 53)):02d}{int(rng.integers(15, 26)):02d}"
            f = st["fonts"][int(rng.integers(len(st["fonts"])))]
            curve = rng.uniform(-0.02, 0.02)
            for _shot in range(HAB["td_shots"]):
                if full():
                    return
                th = rng.uniform(0, 2 * np.pi)
                rows = []
                for k, ch in enumerate(code):
                    hgt = gaussian_filter(_coverage32(_unit_paths(DIGIT_STROKES[ch], f["scale"], f["sx"]),
                                                      f["width"]), 1.0)
                    bend = curve * ((xx - 16) + (k - 1.5) * 32) ** 2 / 32.0
                    hgt = map_coordinates(hgt, [yy - bend, xx], order=1, mode="constant")
                    gy, gx = np.gradient(hgt)
                    img = 0.5 + 1.2 * (np.cos(th) * gx + np.sin(th) * gy) + 0.05 * hgt \
                        + gaussian_filter(rng.normal(0, 0.06, (32, 32)), 0.7)
                    a = _down8(img).astype(np.float64)
                    rows.append((a - a.min()) / max(a.max() - a.min(), 1e-6))
                _, p = send(np.stack(rows))
                if p is None or p.max(1).min() >= 0.6:
                    break
            idle(int(rng.integers(*HAB["td_idle"])))
        idle(int(rng.integers(*HAB["td_car_idle"])))

    def datestamp():
        st = state
        if "font" not in st:
            st.update(font=dict(width=rng.uniform(2.6, 3.4), scale=rng.uniform(0.66, 0.78), sx=rng.uniform(0.75, 0.95)),
                      date=np.datetime64("2026-01-01") + int(rng.integers(0, 330)), left=int(rng.integers(*HAB["ds_day"])),
                      load=1.0, reink=int(rng.integers(*HAB["ds_reink"])), n=0, level=rng.uniform(0.55, 0.9))
        f = st["font"]
        y, m, d = str(st["date"]).split("-")
        load = 1.0 - st["n"] / st["reink"]
        rot = rng.normal(0, 3)
        grad = rng.uniform(-0.35, 0.35)
        rows = []
        for k, ch in enumerate(d + y):
            cov = _glyph32(DIGIT_STROKES[ch], f["width"] * (0.8 + 0.6 * load), f["scale"], f["sx"], rot)
            cov = gaussian_filter(cov, 0.4 + 0.6 * load)
            press = np.clip(st["level"] * (0.45 + 0.55 * load) * (1 + grad * (k - 2.5) / 2.5), 0, 1)
            dry = rng.random((32, 32)) < 0.25 * (1 - load)
            rows.append(np.clip(_down8(cov * ~dry) * press * 1.3 + rng.normal(0, 0.015, D), 0, 1))
        send(np.stack(rows))
        st["n"] += 1
        if st["n"] >= st["reink"]:
            st.update(n=0, reink=int(rng.integers(*HAB["ds_reink"])))
        st["left"] -= 1
        idle(int(rng.integers(*HAB["ds_idle"])))
        if st["left"] <= 0:
            st["date"] += 1 if rng.random() < 0.8 else 3
            st["left"] = int(rng.integers(*HAB["ds_day"]))
            idle(int(rng.integers(*HAB["ds_day_idle"])))

    def tremor():
        st = state
        if "patient" not in st:
            st["patient"] = dict(w=writer(), amp=rng.uniform(*HAB["tr_amp"]), freq=rng.uniform(4.0, 7.0),
                                 micro=rng.uniform(*HAB["tr_micro"]), rounds=int(rng.integers(*HAB["tr_rounds"])),
                                 i=0)
        pt = st["patient"]
        w = pt["w"]
        ch = str(pt["i"] % 10)
        paths = []
        for P in _dense_path(DIGIT_STROKES[ch], 0.02):
            t = np.arange(len(P)) * 0.02
            tang = np.gradient(P, axis=0)
            nrm = np.stack([-tang[:, 1], tang[:, 0]], 1)
            nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-9)
            osc = pt["amp"] * np.sin(2 * np.pi * pt["freq"] * t + rng.uniform(0, 2 * np.pi))
            paths.append(P + osc[:, None] * nrm + rng.normal(0, 0.004, P.shape))
        sc = w["scale"] * (1 - pt["micro"]) ** (pt["i"] % 10)
        x = _down8(_glyph32(paths, w["width"], sc, 1.0, w["rot"], w["slant"]))
        send(np.clip(x * w["ink"] + rng.normal(0, 0.01, D), 0, 1))
        pt["i"] += 1
        idle(int(rng.integers(*HAB["tr_idle"])))
        if pt["i"] >= 10 * pt["rounds"]:
            del st["patient"]
            idle(int(rng.integers(*HAB["tr_patient_idle"])))

    units = {"preddiff": preddiff, "spark": spark, "dynabench": dynabench, "churchbook": churchbook,
             "airwrite": airwrite, "tyredot": tyredot, "datestamp": datestamp, "tremor": tremor}
    while done[0] < n_req:
        units[persona]()


# Held out 21: benign clients with habits none of dev .. heldout20 model (run_benign_heldout21).
_H264_CF = np.array([[1, 1, 1, 1], [2, 1, -1, -2], [1, -1, -1, 1], [1, -2, 2, -1]], np.int64)
_H264_MF = np.array([[13107, 5243, 8066], [11916, 4660, 7490], [10082, 4194, 6554], [9362, 3647, 5825],
                     [8192, 3355, 5243], [7282, 2893, 4559]], np.int64)
_H264_V = np.array([[10, 16, 13], [11, 18, 14], [13, 20, 16], [14, 23, 18], [16, 25, 20], [18, 29, 23]], np.int64)
_H264_POS = np.array([[0, 2, 0, 2], [2, 1, 2, 1], [0, 2, 0, 2], [2, 1, 2, 1]])


def _h264_inv1(d):
    """The H.264 4x4 inverse core transform along the last axis (ITU-T H.264 8.5.12.2)."""
    e0, e1 = d[..., 0] + d[..., 2], d[..., 0] - d[..., 2]
    e2, e3 = (d[..., 1] >> 1) - d[..., 3], d[..., 1] + (d[..., 3] >> 1)
    return np.stack([e0 + e3, e1 + e2, e1 - e2, e0 - e3], -1)


def h264_intra(x, qp):
    """Values through H.264 / AVC intra coding (ITU-T H.264; Richardson 2010, The H.264 advanced video compression
    standard) as an IP camera's RTSP stream of I-frames decodes them: 8-bit luma, four 4x4 blocks in raster order, each
    predicted from its reconstructed neighbours by the cheapest (least absolute difference) of the Intra_4x4 vertical,
    horizontal and DC modes (DC 128 with no neighbour; the six diagonal modes left out), the residual through the 4x4
    integer core transform, quantised at QP `qp` (MF of qp % 6, qbits 15 + qp // 6, the intra rounding offset
    2^qbits / 3), rescaled (V << qp // 6), inverse transformed ((r + 32) >> 6) and added to the prediction, clipped to
    8 bits. (The deblocking filter is left out.)"""
    A = np.round(np.clip(np.asarray(x, np.float64), 0, 1) * 255.0).astype(np.int64).reshape(-1, SIDE, SIDE)
    out = np.zeros_like(A)
    qbits = 15 + qp // 6
    f = (1 << qbits) // 3
    MF = _H264_MF[qp % 6][_H264_POS]
    V = _H264_V[qp % 6][_H264_POS] << (qp // 6)
    for n in range(len(A)):
        R = out[n]
        for by in (0, 4):
            for bx in (0, 4):
                X = A[n, by:by + 4, bx:bx + 4]
                up = R[by - 1, bx:bx + 4] if by > 0 else None
                left = R[by:by + 4, bx - 1] if bx > 0 else None
                preds = []
                if up is not None:
                    preds.append(np.tile(up, (4, 1)))
                if left is not None:
                    preds.append(np.tile(left[:, None], (1, 4)))
                if up is not None and left is not None:
                    dc = (int(up.sum()) + int(left.sum()) + 4) >> 3
                elif up is not None or left is not None:
                    dc = (int((up if up is not None else left).sum()) + 2) >> 2
                else:
                    dc = 128
                preds.append(np.full((4, 4), dc, np.int64))
                P = min(preds, key=lambda p: int(np.abs(X - p).sum()))
                W = _H264_CF @ (X - P) @ _H264_CF.T
                Z = np.sign(W) * ((np.abs(W) * MF + f) >> qbits)
                r = _h264_inv1(_h264_inv1(Z * V).T).T
                R[by:by + 4, bx:bx + 4] = np.clip(P + ((r + 32) >> 6), 0, 255)
    return (out / 255.0).astype(np.float32).reshape(np.shape(x))


_ZFP_NB = 0xAAAAAAAA


def _zfp_lift(p, inverse=False):
    """zfp's decorrelating lifting transform of four values along the last axis (fwd_lift / inv_lift)."""
    x, y, z, w = (p[..., k].copy() for k in range(4))
    if not inverse:
        x += w; x >>= 1; w -= x  # noqa: E702
        z += y; z >>= 1; y -= z  # noqa: E702
        x += z; x >>= 1; z -= x  # noqa: E702
        w += y; w >>= 1; y -= w  # noqa: E702
        w += y >> 1; y -= w >> 1  # noqa: E702
    else:
        y += w >> 1; w -= y >> 1  # noqa: E702
        y += w; w <<= 1; w -= y  # noqa: E702
        z += x; x <<= 1; x -= z  # noqa: E702
        y += z; z <<= 1; z -= y  # noqa: E702
        w += x; x <<= 1; x -= w  # noqa: E702
    return np.stack([x, y, z, w], -1)


def zfp_fixed(x, prec):
    """Values through zfp's fixed-precision mode (Lindstrom 2014, Fixed-rate compressed floating-point arrays, IEEE
    TVCG; `zfp -p prec`) as a simulation data store keeping its arrays compressed decodes them: each 4x4 block of the
    float32 image to block floating point (the largest exponent e, every value times 2^(30 - e) truncated to a 32-bit
    integer), the decorrelating lifting transform along x then y, each coefficient to negabinary, only its top `prec`
    bit planes kept; decoded the other way (inverse transform along y then x, times 2^(e - 30)), clipped to [0, 1] by
    the reader. An all-zero block stays zero."""
    a = np.asarray(x, np.float64).reshape(-1, SIDE, SIDE)
    out = np.zeros_like(a)
    keep = ~((1 << (32 - prec)) - 1) & 0xFFFFFFFF
    for n in range(len(a)):
        for by in (0, 4):
            for bx in (0, 4):
                b = a[n, by:by + 4, bx:bx + 4]
                m = float(np.abs(b).max())
                if m == 0.0:
                    continue
                e = int(np.frexp(m)[1])
                q = np.ldexp(b, 30 - e).astype(np.int64)
                q = _zfp_lift(_zfp_lift(q).T).T
                u = (((q + _ZFP_NB) & 0xFFFFFFFF) ^ _ZFP_NB) & keep
                q = ((u ^ _ZFP_NB) - _ZFP_NB) & 0xFFFFFFFF
                q = np.where(q >= 1 << 31, q - (1 << 32), q)
                q = _zfp_lift(_zfp_lift(q.T, True).T, True)
                out[n, by:by + 4, bx:bx + 4] = np.ldexp(q.astype(np.float64), e - 30)
    return np.clip(out, 0, 1).astype(np.float32).reshape(np.shape(x))


def _augmix_op(a, op, rng):
    """One of AugMix's operations (Hendrycks, Mu, Cubuk, Zoph, Gilmer & Lakshminarayanan 2020, augmentations.py: the
    ones that do not overlap the test corruptions) on an 8x8 image in [0, 1], at a random level."""
    from scipy.ndimage import affine_transform, rotate
    if op == "autocontrast":
        lo, hi = a.min(), a.max()
        return (a - lo) / (hi - lo) if hi > lo else a
    if op == "equalize":
        return _pil_equalize(np.round(a * 255).astype(np.uint8)) / 255.0
    if op == "posterize":
        bits = int(rng.integers(1, 5))
        return (np.round(a * 255).astype(np.int64) & ~((1 << (8 - bits)) - 1) & 0xFF) / 255.0
    if op == "rotate":
        return np.clip(rotate(a, rng.uniform(-30, 30), reshape=False, order=1, mode="constant"), 0, 1)
    if op == "solarize":
        t = rng.uniform(0.0, 1.0)
        return np.where(a < t, a, 1.0 - a)
    if op in ("shear_x", "shear_y"):
        s = rng.uniform(-0.3, 0.3)
        M = np.array([[1.0, 0.0], [s, 1.0]]) if op == "shear_x" else np.array([[1.0, s], [0.0, 1.0]])
        return np.clip(affine_transform(a, M, offset=-M @ np.array([3.5, 3.5]) + 3.5, order=1), 0, 1)
    d = int(rng.integers(-2, 3))
    return _shift_img(a, 0, d) if op == "translate_x" else _shift_img(a, d, 0)


AUGMIX_OPS = ("autocontrast", "equalize", "posterize", "rotate", "solarize", "shear_x", "shear_y", "translate_x",
              "translate_y")


def run_benign_heldout21(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout21` (fixed with seeds 21001, 21002, 21003). Each client draws from its
    own seeded generator:
      a persona   golfcard: a golf club's handicap office scanning the paper scorecards of its competitions for score
                    posting under the World Handicap System (R&A / USGA 2020, Rules of Handicapping): `gc_cards` (lo,
                    hi) cards a competition, `gc_players` (lo, hi) players a card, the course's par per hole fixed;
                    each player's row one request (scores): the 18 hole scores (par plus the player's offsets; a
                    10 or more is two digits), then OUT, IN and the total, each digit a crop, in the marker's hand;
                    `gc_notation` of the markers circle birdies and box bogeys; the card's ruled cell borders at the
                    crops' edges; when the read holes do not add up to the read total the card is scanned again
                    (`gc_rescan` times at most); `gc_idle` (lo, hi) turns between players, `gc_card_idle` between
                    cards, `gc_comp_idle` between competitions;
                  railpost: a track-recording train's camera reading the kilometre posts along the line (rolling
                    shutter as Liang, Chang & Chen 2008, Analysis and compensation of rolling shutter effect, IEEE
                    TIP): runs of `rp_posts` (lo, hi) posts numbered one apart, each seen in `rp_frames` (lo, hi)
                    frames as it nears (growing), the rolling shutter shearing the digits in proportion to the train's
                    speed (`rp_speed` km/h, per run), the bogie's vibration wobbling rows (jello, amplitude `rp_jello`
                    px), horizontal motion blur; each frame one request of the post's digits (scores); `rp_idle` (lo,
                    hi) turns between posts, `rp_run_idle` between runs;
                  augmix: test-time marginal predictions over AugMix views (Zhang, Levine & Finn 2022, MEMO: test
                    time robustness via adaptation and augmentation, NeurIPS; AugMix: Hendrycks et al. 2020, ICLR):
                    each pool digit sent with `am_copies` (one of, per client) AugMix views in one request (scores):
                    `am_width` chains of `am_depth` (lo, hi) operations, mixed by Dirichlet(1) weights, the mix blended
                    with the original by Beta(1, 1); `am_idle` (lo, hi) turns between digits;
                  speedsign: a dashcam's traffic-sign assistant reading speed-limit signs (the German Traffic Sign
                    Recognition Benchmark's tracks: Stallkamp, Schlipsing, Salmen & Igel 2012, Man vs. computer:
                    benchmarking machine learning algorithms for traffic sign recognition, Neural Networks): each sign
                    (`ss_values`) tracked over `ss_frames` (lo, hi) frames as it grows, every `ss_every` (one of, per
                    client) frame classified: its digits (2-3 crops, scores), the red ring's inner edge at the crops'
                    outer sides, motion blur and exposure changing along the track; `ss_idle` (lo, hi) turns between
                    signs;
                  clockface: an app reading analog clocks photographed in the wild (Yang, Xie & Zisserman 2022,
                    It's about time: analog clock reading in the wild, CVPR): the dial's twelve numerals cropped (15
                    digit crops, 10, 11 and 12 two each) in dial order, one request (scores); on `cf_radial` of the
                    dials the numerals are radial (each turned by its hour's angle, the 6 upside down); the photo's tilt
                    and perspective; `cf_retake` of the photos taken again; `cf_idle` (lo, hi) turns between dials;
                  gridsearch: a data scientist's scikit-learn GridSearchCV (Pedregosa et al. 2011, JMLR; Buitinck et
                    al. 2013, API design for machine learning software) over a pipeline whose first step calls the
                    model for its probabilities (a FunctionTransformer, no caching): a labelled set of `gs_set` (lo,
                    hi) pool digits, `gs_folds` (one of) contiguous folds, `gs_cands` (lo, hi) candidates of the
                    downstream classifier; for every candidate and fold the training part then the test part sent in
                    chunks of `gs_batch` (one of, per client; 0: the whole part), then the refit on the whole set;
                    `gs_idle` (lo, hi) turns between searches;
                  gamehud: an esports stats overlay reading a shooter's HUD from the screen capture (as Overwolf-
                    platform trackers do): the ammunition (`gh_mags` magazine) and health counters in the game's
                    font, on a translucent plate over the moving scene, every `gh_every` (one of, per client) frame
                    one request of their digits (scores); shots, reloads, damage, deaths and respawns change them;
                    matches of `gh_match` (lo, hi) frames, `gh_match_idle` (lo, hi) turns between matches;
                  growsphere: Growing Spheres counterfactual explanations (Laugel, Lesot, Marsala, Renard & Detyniecki
                    2018, Comparison-based inverse classification for interpretability in machine learning, IPMU; as
                    CARLA runs it): each explained pool digit labelled, then `gr_n` (one of, per client) points
                    uniform in the L2 ball of radius `gr_eta` (one of) asked (labels), the radius halved while any is
                    an enemy, then spherical layers [a, a + eta] until one is; the closest enemy sparsified feature by
                    feature (one row a request) while it stays an enemy; `gr_idle` (lo, hi) turns between digits;
      number      a share `h264` of clients send H.264 intra values (h264_intra; QP `h264_qp`, one of, per client), a
      format      share `zfp` zfp fixed-precision values (zfp_fixed; `zfp_prec` bit planes, one of);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool, views and samples of them, and rendered numerals, in [0, 1]. Every
    client paces requests and rows under the server's default limits."""
    from scipy.ndimage import gaussian_filter
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas21"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "h264" if u < HAB["h264"] else ("zfp" if u < HAB["h264"] + HAB["zfp"] else "float32")
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    fparam = None
    if fmt_ == "h264":
        fparam = int(rng.choice(HAB["h264_qp"]))
        s.meta["h264_qp"] = fparam
    elif fmt_ == "zfp":
        fparam = int(rng.choice(HAB["zfp_prec"]))
        s.meta["zfp_prec"] = fparam
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return pool[i]

    def draw_set(n):
        idx = list(rng.choice(len(pool), min(n, len(pool)), replace=False, p=weights))
        if n > len(pool):
            idx += list(rng.choice(len(pool), n - len(pool), p=weights))
        idx = np.asarray(idx, np.int64)
        np.add.at(counts, idx, 1)
        return pool[idx].copy()

    def full():
        return done[0] >= n_req

    def send(rows, scores=True):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "h264":
            rows = h264_intra(rows, fparam)
        elif fmt_ == "zfp":
            rows = zfp_fixed(rows, fparam)
        done[0] += 1
        try:
            return query(h, baton, s, rows, scores=scores)
        except Refused:
            return None, None

    def idle(turns):
        for _ in range(max(0, turns)):
            baton.pass_on(s)

    def hand():
        return dict(width=rng.uniform(3.2, 5.0), scale=rng.uniform(0.74, 0.86), slant=rng.uniform(-0.15, 0.25),
                    wobble=rng.uniform(0.015, 0.04), ink=rng.uniform(0.75, 1.0), rot=rng.normal(0, 4))

    def written(ch, w, extra=()):
        S = [np.asarray(l, float) + rng.normal(0, w["wobble"], (len(l), 2)) for l in DIGIT_STROKES[ch]]
        S += [np.asarray(l, float) for l in extra]
        return _glyph32(S, w["width"] * rng.uniform(0.9, 1.1), w["scale"] * rng.uniform(0.95, 1.05), 1.0,
                        w["rot"] + rng.normal(0, 2), w["slant"], 16 + rng.normal(0, 0.7), 16 + rng.normal(0, 0.7))

    def golfcard():
        st = state
        if "par" not in st:
            st.update(par=rng.choice([3, 4, 4, 4, 5], 18), cards=0)
        if st["cards"] <= 0:
            if "started" in st:
                idle(int(rng.integers(*HAB["gc_comp_idle"])))
            st.update(started=True, cards=int(rng.integers(*HAB["gc_cards"])))
        st["cards"] -= 1
        w = hand()
        ring = rng.random() < HAB["gc_notation"]
        circle = [_arc(0.5, 0.5, 0.62, 0.58, 0, 360, 16)]
        box = [[(-0.15, -0.1), (1.15, -0.1), (1.15, 1.1), (-0.15, 1.1), (-0.15, -0.1)]]
        border = rng.uniform(0.2, 0.6)
        for _ in range(int(rng.integers(*HAB["gc_players"]))):
            if full():
                return
            hcp = rng.uniform(0, 36)
            pb = np.array([0.02, 0.12, 0.5, 0.26, 0.07, 0.03]) if hcp < 10 \
                else np.array([0.005, 0.05, 0.3, 0.4, 0.17, 0.075])
            holes = st["par"] + rng.choice(np.arange(-2, 4), 18, p=pb / pb.sum())
            out, inn = int(holes[:9].sum()), int(holes[9:].sum())
            covs, spans = [], []
            for k, sc in enumerate(holes):
                t = str(int(sc))
                extra = ()
                if ring and len(t) == 1:
                    extra = circle if sc < st["par"][k] else box if sc == st["par"][k] + 1 else ()
                spans.append(len(t))
                covs += [written(ch, w, extra) for ch in t]
            for v in (out, inn, out + inn):
                covs += [written(ch, w) for ch in str(v)]
            rows = []
            for c in covs:
                c = c.copy()
                if rng.random() < 0.5:
                    e = 0 if rng.random() < 0.5 else 31
                    c[e] = np.maximum(c[e], border)
                rows.append(np.clip(_down8(c) * w["ink"] + rng.normal(0, 0.015, D), 0, 1))
            for attempt in range(1 + HAB["gc_rescan"]):
                scan = np.stack(rows)
                if attempt:
                    scan = np.clip(scan * rng.uniform(0.9, 1.1) + rng.normal(0, 0.015, scan.shape), 0, 1)
                lab, _ = send(scan)
                if lab is None or full():
                    break
                at, read = 0, []
                for n in spans:
                    read.append(int("".join(str(int(v)) for v in lab[at:at + n])))
                    at += n
                total = int("".join(str(int(v)) for v in lab[-len(str(out + inn)):]))
                if sum(read) == total:
                    break
            idle(int(rng.integers(*HAB["gc_idle"])))
        idle(int(rng.integers(*HAB["gc_card_idle"])))

    def railpost():
        st = state
        if "run" not in st:
            st["run"] = dict(speed=rng.uniform(*HAB["rp_speed"]), dirn=int(rng.choice([-1, 1])),
                             km=int(rng.integers(12, 400)), left=int(rng.integers(*HAB["rp_posts"])),
                             jello=rng.uniform(*HAB["rp_jello"]), cam=rng.choice([-1.0, 1.0]),
                             width=rng.uniform(3.8, 5.0), sx=rng.uniform(0.75, 0.9), gain=rng.uniform(0.8, 1.0))
        r = st["run"]
        digits = str(r["km"])
        nf = int(rng.integers(*HAB["rp_frames"]))
        phase = rng.uniform(0, 2 * np.pi)
        for f in range(nf):
            if full():
                return
            t = f / max(nf - 1, 1)
            shear = r["cam"] * r["speed"] / 160.0 * 0.25 * (0.6 + 0.4 * t)
            rows = []
            for ch in digits:
                cov = _glyph32(DIGIT_STROKES[ch], r["width"], 0.62 + 0.2 * t, r["sx"], rng.normal(0, 1.5), shear,
                               16 + rng.normal(0, 0.8), 16 + rng.normal(0, 0.8))
                off = r["jello"] * np.sin(2 * np.pi * np.arange(32) / rng.uniform(10, 20) + phase)
                cov = np.stack([np.interp(np.arange(32) - off[i], np.arange(32), cov[i]) for i in range(32)])
                cov = gaussian_filter(cov, (0.3, 0.3 + r["speed"] / 160.0 * (0.4 + 0.8 * t)))
                rows.append(np.clip(_down8(cov) * r["gain"] + rng.normal(0, 0.02, D), 0, 1))
            send(np.stack(rows))
            idle(int(rng.integers(0, 2)))
        r["km"] += r["dirn"]
        r["left"] -= 1
        if r["km"] < 1:
            r["left"] = 0
        idle(int(rng.integers(*HAB["rp_idle"])))
        if r["left"] <= 0:
            del st["run"]
            idle(int(rng.integers(*HAB["rp_run_idle"])))

    def augmix():
        st = state
        if "copies" not in st:
            st["copies"] = int(rng.choice(HAB["am_copies"]))
        x = np.asarray(draw(), np.float64).reshape(SIDE, SIDE)
        rows = [x]
        for _ in range(st["copies"]):
            ws = rng.dirichlet(np.ones(HAB["am_width"]))
            mix = np.zeros_like(x)
            for i in range(HAB["am_width"]):
                a = x.copy()
                for _ in range(int(rng.integers(*HAB["am_depth"]))):
                    a = _augmix_op(a, AUGMIX_OPS[int(rng.integers(len(AUGMIX_OPS)))], rng)
                mix += ws[i] * a
            m = rng.beta(1.0, 1.0)
            rows.append((1 - m) * x + m * mix)
        send(np.stack(rows).reshape(-1, D))
        idle(int(rng.integers(*HAB["am_idle"])))

    def speedsign():
        st = state
        if "every" not in st:
            st.update(every=int(rng.choice(HAB["ss_every"])), width=rng.uniform(3.8, 5.0), sx=rng.uniform(0.75, 0.9))
        digits = str(int(rng.choice(HAB["ss_values"])))
        nf = int(rng.integers(*HAB["ss_frames"]))
        side = 1 if rng.random() < 0.5 else -1
        for f in range(nf):
            if full():
                return
            if f % st["every"]:
                idle(1)
                continue
            t = f / max(nf - 1, 1)
            sc = 0.6 + 0.22 * t
            blur = 0.3 + 0.9 * (1 - t) ** 2
            expo = rng.uniform(0.6, 1.0)
            rows = []
            for k, ch in enumerate(digits):
                pos = (k - (len(digits) - 1) / 2) / max(len(digits) - 1, 1)
                cx = 16 - pos * 18 * sc / 0.6
                ring = [_arc(cx / 32, 0.5 + side * 0.02, 0.52 * sc / 0.6, 0.52 * sc / 0.6, 0, 360, 24)]
                cov = np.maximum(_glyph32(DIGIT_STROKES[ch], st["width"], sc, st["sx"], rng.normal(0, 2), 0.0,
                                          16 + rng.normal(0, 0.6), 16 + rng.normal(0, 0.6)),
                                 0.55 * _coverage32(_unit_paths(ring, 1.0, 1.0), 3.5 * sc / 0.6))
                cov = gaussian_filter(cov, (blur, blur + 0.4 * t))
                rows.append(np.clip(_down8(cov) * expo + rng.normal(0, 0.02, D), 0, 1))
            send(np.stack(rows))
            idle(int(st["every"] - 1))
        idle(int(rng.integers(*HAB["ss_idle"])))

    def clockface():
        radial = rng.random() < HAB["cf_radial"]
        font = dict(width=rng.uniform(3.4, 5.0), scale=rng.uniform(0.74, 0.86), sx=rng.uniform(0.75, 1.0))
        for take in range(2):
            if full():
                return
            tilt, squeeze = rng.normal(0, 8), rng.uniform(0.75, 1.0)
            rows = []
            for hr in range(1, 13):
                rot = tilt + (hr * 30.0 if radial else 0.0)
                for ch in str(hr):
                    cov = _glyph32(DIGIT_STROKES[ch], font["width"], font["scale"], font["sx"] * squeeze, rot, 0.0,
                                   16 + rng.normal(0, 1.0), 16 + rng.normal(0, 1.0))
                    rows.append(np.clip(_down8(cov) * rng.uniform(0.7, 1.0) + rng.normal(0, 0.02, D), 0, 1))
            send(np.stack(rows))
            if rng.random() >= HAB["cf_retake"]:
                break
            idle(int(rng.integers(0, 3)))
        idle(int(rng.integers(*HAB["cf_idle"])))

    def gridsearch():
        st = state
        if "data" not in st:
            st.update(data=np.stack([np.clip(np.asarray(v, np.float64) * rng.uniform(0.9, 1.1)
                                             + rng.normal(0, 0.015, D), 0, 1)
                                     for v in draw_set(int(rng.integers(*HAB["gs_set"])))]),
                      batch=int(rng.choice(HAB["gs_batch"])))
        X = st["data"]
        N = len(X)
        folds = np.array_split(np.arange(N), int(rng.choice(HAB["gs_folds"])))

        def transform(idx):
            bs = st["batch"] or min(len(idx), 256)
            for a in range(0, len(idx), bs):
                if full():
                    return
                send(X[idx[a:a + bs]])
        for _ in range(int(rng.integers(*HAB["gs_cands"]))):
            for k in range(len(folds)):
                transform(np.concatenate([folds[j] for j in range(len(folds)) if j != k]))
                transform(folds[k])
        transform(np.arange(N))
        idle(int(rng.integers(*HAB["gs_idle"])))

    def gamehud():
        st = state
        if "mag" not in st:
            st.update(mag=int(rng.choice(HAB["gh_mags"])), every=int(rng.choice(HAB["gh_every"])),
                      width=rng.uniform(4.0, 5.5), sc=rng.uniform(0.74, 0.86), sx=rng.uniform(0.75, 0.9),
                      alpha=rng.uniform(0.7, 0.9), frames=0)
            st.update(ammo=st["mag"], health=100, bg=gaussian_filter(rng.random((32, 32)), 3.0),
                      match=int(rng.integers(*HAB["gh_match"])))
        if rng.random() < 0.45 and st["ammo"] > 0:
            st["ammo"] = max(0, st["ammo"] - int(rng.integers(1, 4)))
        if st["ammo"] == 0 or rng.random() < 0.03:
            st["ammo"] = st["mag"]
        if rng.random() < 0.12:
            st["health"] -= int(rng.integers(5, 45))
        elif st["health"] < 100 and rng.random() < 0.3:
            st["health"] = min(100, st["health"] + 5)
        if st["health"] <= 0:
            st["health"] = 100
            st["ammo"] = st["mag"]
            idle(int(rng.integers(5, 16)))
        st["bg"] = 0.85 * st["bg"] + 0.15 * gaussian_filter(rng.random((32, 32)), 3.0)
        rows = []
        for ch in str(st["ammo"]) + str(st["health"]):
            ink = _glyph32(DIGIT_STROKES[ch], st["width"], st["sc"], st["sx"], 0.0, 0.08)
            img = ink + (1 - ink) * (1 - st["alpha"]) * st["bg"]
            rows.append(np.clip(_down8(img) + rng.normal(0, 0.01, D), 0, 1))
        send(np.stack(rows))
        idle(st["every"] - 1)
        st["frames"] += 1
        if st["frames"] >= st["match"]:
            st.update(frames=0, match=int(rng.integers(*HAB["gh_match"])), mag=int(rng.choice(HAB["gh_mags"])),
                      health=100)
            st["ammo"] = st["mag"]
            idle(int(rng.integers(*HAB["gh_match_idle"])))

    def growsphere():
        st = state
        if "n" not in st:
            st.update(n=int(rng.choice(HAB["gr_n"])), eta=float(rng.choice(HAB["gr_eta"])))
        x = np.asarray(draw(), np.float64)
        lab, _ = send(x[None], scores=False)
        if lab is None:
            return
        y = int(lab[0])

        def layer(a, b):
            z = rng.normal(0, 1, (st["n"], D))
            z /= np.linalg.norm(z, axis=1, keepdims=True)
            r = (rng.random(st["n"]) * (b ** D - a ** D) + a ** D) ** (1.0 / D)
            P = np.clip(x[None] + r[:, None] * z, 0, 1)
            labs = []
            for k in range(0, len(P), 256):
                if full():
                    return P, None
                lk, _ = send(P[k:k + 256], scores=False)
                if lk is None:
                    return P, None
                labs.append(lk)
            return P, np.concatenate(labs)
        eta = st["eta"]
        for _ in range(8):
            P, L = layer(0.0, eta)
            if L is None:
                return
            if not (L != y).any():
                break
            eta /= 2
        a, found = eta, None
        for _ in range(40):
            P, L = layer(a, a + eta)
            if L is None:
                return
            if (L != y).any():
                E = P[L != y]
                found = E[np.argmin(np.linalg.norm(E - x, axis=1))]
                break
            a += eta
        if found is not None:
            e = found.copy()
            while not full():
                diff = np.abs(e - x)
                diff[diff == 0] = np.inf
                if not np.isfinite(diff).any():
                    break
                e2 = e.copy()
                j = int(np.argmin(diff))
                e2[j] = x[j]
                lk, _ = send(e2[None], scores=False)
                if lk is None or int(lk[0]) == y:
                    break
                e = e2
        idle(int(rng.integers(*HAB["gr_idle"])))

    units = {"golfcard": golfcard, "railpost": railpost, "augmix": augmix, "speedsign": speedsign,
             "clockface": clockface, "gridsearch": gridsearch, "gamehud": gamehud, "growsphere": growsphere}
    while done[0] < n_req:
        units[persona]()


# Held out 22: benign clients with habits none of dev .. heldout21 model (run_benign_heldout22).
def bitgroom(x, nsd):
    """Values through NetCDF bit grooming (Zender 2016, Bit Grooming: statistically accurate precision-preserving
    quantization with compression, Geosci. Model Dev.; `ncks --ppc default=nsd`) as a climate-style archive that
    stores its float32 arrays groomed to `nsd` significant digits (for deflate) hands them back: ceil(nsd log2 10) + 1
    explicit mantissa bits kept, the rest alternately shaved (zeroed, even positions of the flattened array) and set
    (ones, odd positions); zeros stay zero."""
    a = np.ascontiguousarray(np.asarray(x, np.float32))
    keep = int(np.ceil(nsd * np.log2(10.0))) + 1
    drop = max(0, 23 - keep)
    u = a.reshape(-1).view(np.uint32).copy()
    mask = np.uint32((0xFFFFFFFF << drop) & 0xFFFFFFFF)
    odd = (np.arange(u.size) % 2) == 1
    nz = a.reshape(-1) != 0
    u = np.where(odd, u | ~mask, u & mask)
    u = np.where(nz, u, np.uint32(0))
    return np.clip(u.view(np.float32), 0, 1).reshape(np.shape(x))


def _posit_values(es, n=8):
    """Every non-negative value of the posit<n, es> format (Gustafson & Yonemoto 2017, Beating floating point at
    its own game: posit arithmetic, Supercomputing Frontiers and Innovations), in code order."""
    vals = [0.0]
    for code in range(1, 1 << (n - 1)):
        bits = format(code, f"0{n - 1}b")
        r0 = bits[0]
        k = len(bits) - len(bits.lstrip(r0))
        reg = k - 1 if r0 == "1" else -k
        rest = bits[k + 1:]
        e = int((rest[:es] + "0" * es)[:es], 2) if es else 0
        f = rest[es:]
        frac = 1.0 + (int(f, 2) / (1 << len(f)) if f else 0.0)
        vals.append(2.0 ** (reg * (1 << es) + e) * frac)
    return np.asarray(vals)


def posit8(x, es):
    """Values through an edge accelerator that keeps its input tensors as 8-bit posits (posit<8, es>; Carmichael,
    Langroudi, Khazanov, Lillie, Gustafson & Kudithipudi 2019, Deep Positron: a deep neural network using the posit
    number system, DATE): each value rounded to the nearest posit<8, es> (ties to the even code), read back as
    float32."""
    v = _posit_values(es)
    a = np.asarray(x, np.float64)
    i = np.clip(np.searchsorted(v, a), 1, len(v) - 1)
    lo, hi = v[i - 1], v[i]
    up = (a - lo > hi - a) | ((a - lo == hi - a) & ((i - 1) % 2 == 1))
    return np.where(up, hi, lo).astype(np.float32)


def run_benign_heldout22(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout22` (fixed with seeds 22001, 22002, 22003). Each client draws from its
    own seeded generator:
      a persona   permshap: Shapley value sampling explanations (Strumbelj & Kononenko 2014, Explaining prediction
                    models and individual predictions with feature contributions, KAIS) as Captum's
                    ShapleyValueSampling runs them (Kokhlikyan et al. 2020): the 64 pixels in 16 feature groups (2x2),
                    a baseline (all 0), `ps_samples` (one of, per client) random permutations of the groups; the
                    baseline and the input scored first, then for each permutation the groups added to the baseline
                    one after another, each step one input, `ps_ppe` (one of, per client: perturbations_per_eval)
                    inputs a request (scores); `ps_idle` (lo, hi) turns between digits;
                  lore: LORE local rule-based explanations (Guidotti, Monreale, Ruggieri, Pedreschi, Turini &
                    Giannotti 2018, Local rule-based explanations of black box decision systems, arXiv:1805.10820):
                    each explained pool digit labelled, then its genetic neighbourhood: two genetic runs (fitness for
                    the same label, then for a different one) of `lo_pop` (one of, per client) individuals over
                    `lo_gens` (lo, hi) generations; mutation (probability 0.2 a feature) draws the feature's value from
                    the client's data, crossover (0.5) two-point, tournament selection of 3; every generation's
                    population asked (labels, requests of at most 256 rows); `lo_idle` (lo, hi) turns between digits;
                  b3d: the model owner's backdoor audit by B3D (Dong, Yang, Deng, Pang, Xiao, Zhu & Zhu 2021, Black-box
                    detection of backdoor attacks with limited information and data, ICCV): for each class in turn a
                    trigger (mask and pattern, sigmoid-parametrised) reverse-engineered by NES on `bd_set` (one of)
                    clean pool digits: each iteration `bd_k` samples of the search distribution, every sample's
                    triggered digits (1 - m) x + m p one request (scores); the CE loss of the class plus the mask's L1;
                    `bd_iters` iterations a class; `bd_idle` (lo, hi) turns between classes;
                  dupworkers: a batch inference job whose PyTorch DataLoader runs an IterableDataset in `dw_workers`
                    (one of, per client) worker processes without sharding it (the PyTorch documentation's warning:
                    each worker gets a replica and yields every sample): `dw_set` (lo, hi) pool digits in the job's
                    order, batches of `dw_batch` (one of, per client), the workers' batches in the loader's round-robin
                    order (every batch `dw_workers` times in a row), the last one partial; `dw_idle` (lo, hi) turns
                    between runs (the same job again);
                  spine: a library's shelf-reading app reading the call-number labels on book spines in shelf order
                    (Dewey Decimal Classification numbers, OCLC 2011, DDC 23): each book's class number (3 digits and
                    1-3 decimals) a request of its digit crops (scores), printed on the label; on `sp_vertical` of
                    the shelves the labels run along vertical spines and are turned upright by the app's orientation
                    detection (as Tesseract's OSD), `sp_flip` of them the wrong way up (180 degrees) and all with more
                    residual tilt; glossy tape glare, a misshelved book now and then; `sp_idle` (lo, hi) turns between
                    books, `sp_shelf_idle` between shelves;
                  fisheye: a car park's guidance system reading painted bay numbers from ceiling fisheye cameras
                    (equidistant projection: Kannala & Brandt 2006, A generic camera model and calibration method for
                    conventional, wide-angle, and fish-eye lenses, TPAMI): `fe_bays` (lo, hi) bays around the camera,
                    each bay's region dewarped with the calibrated model before reading: a residual turn, a squeeze
                    and a resampling blur that grow with the bay's distance from the image centre; every
                    `fe_every` (lo, hi) turns one request of every bay's digits (scores), parked cars hiding part of
                    the occupied bays' numbers, occupancy changing now and then, the light level with the time of day;
                  cropdrag: a phone app's crop screen (as document scanners' adjustable crop boxes): the photo of a
                    written digit with its neighbours' ink, the crop box dragged `cd_drags` (lo, hi) times from loose
                    towards tight, the crop re-classified after each drag (debounced; one request, scores);
                    `cd_idle` (lo, hi) turns between photos;
                  swagger: an engineer trying the API from its OpenAPI page (Swagger UI's "Try it out"): the
                    documented example body sent and re-sent, hand edits of a few values (`sw_edit` (lo, hi) pixels
                    to 0 or 1), edge bodies (all 0, all 1, all 0.5, the example twice in a batch), digits pasted from
                    a local file, some rounded to 2 decimals; `sw_idle` (lo, hi) turns between tries;
      number      a share `bitgroom` of clients send bit-groomed values (bitgroom; `bg_nsd` significant digits, one of,
      format      per client), a share `posit` 8-bit posit values (posit8; es `posit_es`, one of);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool, edits, views and samples of them, and rendered numerals, in [0, 1].
    Every client paces requests and rows under the server's default limits."""
    from scipy.ndimage import gaussian_filter, map_coordinates
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas22"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "bitgroom" if u < HAB["bitgroom"] else ("posit8" if u < HAB["bitgroom"] + HAB["posit"] else "float32")
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    fparam = None
    if fmt_ == "bitgroom":
        fparam = int(rng.choice(HAB["bg_nsd"]))
        s.meta["bitgroom_nsd"] = fparam
    elif fmt_ == "posit8":
        fparam = int(rng.choice(HAB["posit_es"]))
        s.meta["posit_es"] = fparam
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return np.asarray(pool[i], np.float64)

    def draw_set(n):
        idx = list(rng.choice(len(pool), min(n, len(pool)), replace=False, p=weights))
        if n > len(pool):
            idx += list(rng.choice(len(pool), n - len(pool), p=weights))
        idx = np.asarray(idx, np.int64)
        np.add.at(counts, idx, 1)
        return np.asarray(pool[idx], np.float64)

    def full():
        return done[0] >= n_req

    def send(rows, scores=True):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "bitgroom":
            rows = bitgroom(rows, fparam)
        elif fmt_ == "posit8":
            rows = posit8(rows, fparam)
        done[0] += 1
        try:
            return query(h, baton, s, rows, scores=scores)
        except Refused:
            return None, None

    def send_chunks(rows, size, scores=True):
        out = []
        for k in range(0, len(rows), size):
            if full():
                return None
            lab, p = send(rows[k:k + size], scores)
            if lab is None:
                return None
            out.append((lab, p))
        return out

    def idle(turns):
        for _ in range(max(0, turns)):
            baton.pass_on(s)

    def permshap():
        st = state
        if "ppe" not in st:
            st.update(ppe=int(rng.choice(HAB["ps_ppe"])), n=int(rng.choice(HAB["ps_samples"])))
        x = draw()
        base = np.zeros(D)
        groups = [np.array([(2 * a + i) * SIDE + 2 * b + j for i in range(2) for j in range(2)])
                  for a in range(4) for b in range(4)]
        if send(np.stack([base, x]))[0] is None or full():
            return
        rows = []
        for _ in range(st["n"]):
            cur = base.copy()
            for g in rng.permutation(16):
                cur[groups[g]] = x[groups[g]]
                rows.append(cur.copy())
        send_chunks(np.stack(rows), st["ppe"])
        idle(int(rng.integers(*HAB["ps_idle"])))

    def lore():
        st = state
        if "pop" not in st:
            st.update(pop=int(rng.choice(HAB["lo_pop"])), data=draw_set(50))
        x = draw()
        lab, _ = send(x[None], scores=False)
        if lab is None:
            return
        y = int(lab[0])
        data = st["data"]
        for same in (True, False):
            P = np.repeat(x[None], st["pop"], 0)
            for _ in range(int(rng.integers(*HAB["lo_gens"]))):
                if full():
                    return
                M = rng.random(P.shape) < 0.2
                P = np.where(M, data[rng.integers(len(data), size=P.shape), np.arange(D)[None, :]], P)
                for k in range(0, len(P) - 1, 2):
                    if rng.random() < 0.5:
                        a, b = sorted(rng.choice(D, 2, replace=False))
                        t = P[k, a:b].copy()
                        P[k, a:b] = P[k + 1, a:b]
                        P[k + 1, a:b] = t
                got = send_chunks(P, 256, scores=False)
                if got is None:
                    return
                L = np.concatenate([g[0] for g in got])
                d = np.abs(P - x).sum(1) / D
                fit = ((L == y) if same else (L != y)) + (1 - d) - (d == 0)
                T = rng.integers(len(P), size=(len(P), 3))
                P = P[T[np.arange(len(P)), np.argmax(fit[T], 1)]]
        idle(int(rng.integers(*HAB["lo_idle"])))

    def b3d():
        st = state
        if "X" not in st:
            st.update(X=draw_set(int(rng.choice(HAB["bd_set"]))), c=0)
        X, c = st["X"], st["c"] % 10
        mu_m, mu_p = np.full(D, -2.0), np.zeros(D)
        for _ in range(HAB["bd_iters"]):
            if full():
                return
            eps_m = rng.normal(0, 1, (HAB["bd_k"], D))
            eps_p = rng.normal(0, 1, (HAB["bd_k"], D))
            losses = []
            for k in range(HAB["bd_k"]):
                if full():
                    return
                m = 1 / (1 + np.exp(-(mu_m + 0.5 * eps_m[k])))
                p = 1 / (1 + np.exp(-(mu_p + 0.5 * eps_p[k])))
                _, pr = send((1 - m) * X + m * p)
                if pr is None:
                    return
                losses.append(-np.log(np.maximum(pr[:, c], 1e-12)).mean() + 0.01 * m.sum())
            f = np.asarray(losses)
            f = (f - f.mean()) / (f.std() + 1e-12)
            mu_m -= 0.1 * (f[:, None] * eps_m).mean(0) / 0.5
            mu_p -= 0.1 * (f[:, None] * eps_p).mean(0) / 0.5
        st["c"] += 1
        idle(int(rng.integers(*HAB["bd_idle"])))

    def dupworkers():
        st = state
        if "X" not in st:
            st.update(X=draw_set(int(rng.integers(*HAB["dw_set"]))), w=int(rng.choice(HAB["dw_workers"])),
                      b=int(rng.choice(HAB["dw_batch"])))
        X = st["X"]
        for k in range(0, len(X), st["b"]):
            for _w in range(st["w"]):
                if full():
                    return
                send(X[k:k + st["b"]])
        idle(int(rng.integers(*HAB["dw_idle"])))

    def spine():
        st = state
        if "shelf" not in st:
            st["shelf"] = dict(cls=float(rng.integers(0, 990)) + rng.integers(0, 100) / 100.0,
                               left=int(rng.integers(20, 61)), vertical=rng.random() < HAB["sp_vertical"],
                               width=rng.uniform(3.4, 4.6), sx=rng.uniform(0.7, 0.85))
        sh = st["shelf"]
        num = sh["cls"] if rng.random() > 0.03 else float(rng.integers(0, 990))
        txt = f"{int(num):03d}" + f"{num - int(num):.{int(rng.integers(1, 4))}f}"[2:]
        rot = 180.0 if sh["vertical"] and rng.random() < HAB["sp_flip"] else 0.0
        glare_at, glare = rng.uniform(0, 32), rng.uniform(0.0, 0.5)
        rows = []
        for ch in txt:
            cov = _glyph32(DIGIT_STROKES[ch], sh["width"], rng.uniform(0.74, 0.82), sh["sx"],
                           rot + rng.normal(0, 4 if sh["vertical"] else 2), 0.0, 16 + rng.normal(0, 0.6),
                           16 + rng.normal(0, 0.6))
            band = glare * np.exp(-0.5 * ((np.arange(32) - glare_at) / 3.0) ** 2)
            cov = np.maximum(cov, band[None, :] if sh["vertical"] else band[:, None])
            rows.append(np.clip(_down8(cov) + rng.normal(0, 0.02, D), 0, 1))
        send(np.stack(rows))
        sh["cls"] = round(sh["cls"] + rng.choice([0.0, 0.01, 0.1, 1.0], p=[0.3, 0.3, 0.3, 0.1]), 2) % 999
        sh["left"] -= 1
        idle(int(rng.integers(*HAB["sp_idle"])))
        if sh["left"] <= 0:
            del st["shelf"]
            idle(int(rng.integers(*HAB["sp_shelf_idle"])))

    def fisheye():
        st = state
        if "bays" not in st:
            n = int(rng.integers(*HAB["fe_bays"]))
            first = int(rng.integers(1, 40)) * 10
            st.update(bays=[dict(num=str(first + k), res=rng.normal(0, 4), r=rng.uniform(0.3, 0.95),
                                 busy=rng.random() < 0.5) for k in range(n)],
                      width=rng.uniform(4.0, 5.5), t=rng.uniform(0, 24))
        st["t"] = (st["t"] + 0.05) % 24
        light = 0.55 + 0.4 * np.clip(np.sin((st["t"] - 6) / 12 * np.pi), 0, 1)
        rows = []
        for b in st["bays"]:
            if rng.random() < 0.02:
                b["busy"] = not b["busy"]
            hide = rng.uniform(0.2, 0.6) if b["busy"] else 0.0
            for ch in b["num"]:
                cov = _glyph32(DIGIT_STROKES[ch], st["width"], 0.8 * (1 - 0.1 * b["r"] ** 2), 1.0 - 0.15 * b["r"],
                               b["res"] + rng.normal(0, 0.5), 0.0, 16 + rng.normal(0, 0.4), 16 + rng.normal(0, 0.4))
                cov = gaussian_filter(cov, 0.3 + 0.8 * b["r"])
                if hide:
                    cov[int(32 * (1 - hide)):] *= 0.15
                rows.append(np.clip(_down8(cov) * light + rng.normal(0, 0.02, D), 0, 1))
        send(np.stack(rows))
        idle(int(rng.integers(*HAB["fe_every"])))

    def cropdrag():
        x = draw().reshape(SIDE, SIDE)
        big = np.kron(x, np.ones((4, 4)))
        canvas = np.clip(rng.normal(0.0, 0.02, (64, 64)), 0, 1)
        canvas[16:48, 16:48] = np.maximum(canvas[16:48, 16:48], gaussian_filter(big, 0.8))
        for nb in (draw(), draw()):
            side = int(rng.choice([-1, 1]))
            nbig = gaussian_filter(np.kron(nb.reshape(SIDE, SIDE), np.ones((4, 4))), 0.8)
            x0 = 16 + side * 30
            a, b = max(x0, 0), min(x0 + 32, 64)
            canvas[16:48, a:b] = np.maximum(canvas[16:48, a:b], nbig[:, a - x0:b - x0])
        box = np.array([rng.uniform(0, 12), rng.uniform(0, 12), rng.uniform(44, 60), rng.uniform(44, 60)])
        tight = np.array([16, 16, 48, 48]) + rng.normal(0, 1.5, 4)
        for _ in range(int(rng.integers(*HAB["cd_drags"]))):
            if full():
                return
            box = box + rng.uniform(0.3, 0.8) * (tight - box)
            y0, x0, y1, x1 = box
            gy, gx = np.meshgrid(np.linspace(y0, y1, 32), np.linspace(x0, x1, 32), indexing="ij")
            crop = map_coordinates(canvas, [gy, gx], order=1, mode="constant")
            send(_down8(crop)[None])
            idle(int(rng.integers(0, 2)))
        idle(int(rng.integers(*HAB["cd_idle"])))

    def swagger():
        example = np.asarray(pool[len(pool) - 1], np.float64)
        u = rng.random()
        if u < 0.3:
            send(example[None])
            if rng.random() < 0.3:
                send(example[None])
        elif u < 0.55:
            e = example.copy()
            idx = rng.choice(D, int(rng.integers(*HAB["sw_edit"])), replace=False)
            e[idx] = rng.choice([0.0, 1.0], len(idx))
            send(e[None])
        elif u < 0.7:
            kind = int(rng.integers(4))
            body = [np.zeros(D), np.ones(D), np.full(D, 0.5), example][kind]
            send(np.stack([body, example]) if kind == 3 else body[None])
        else:
            x = draw()
            send((np.round(x, 2) if rng.random() < 0.4 else x)[None])
        idle(int(rng.integers(*HAB["sw_idle"])))

    units = {"permshap": permshap, "lore": lore, "b3d": b3d, "dupworkers": dupworkers, "spine": spine,
             "fisheye": fisheye, "cropdrag": cropdrag, "swagger": swagger}
    while done[0] < n_req:
        units[persona]()


# Held out 23: benign clients with habits none of dev .. heldout22 model (run_benign_heldout23).
def hlg10(x, narrow):
    """Values through an HDR broadcast camera chain that stores frames as 10-bit HLG (Hybrid Log-Gamma, ITU-R BT.2100 /
    ARIB STD-B67) and hands them back converted to scene-linear light: the value taken as scene-linear E in [0, 1],
    the HLG OETF (sqrt(3E) up to 1/12, a ln(12E - b) + c above), the signal quantised to 10 bits (narrow range:
    codes 64-940, as BT.2100's; full range: 0-1023), then the inverse OETF."""
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    E = np.clip(np.asarray(x, np.float64), 0, 1)
    Ep = np.where(E <= 1 / 12, np.sqrt(3 * E), a * np.log(np.maximum(12 * E - b, 1e-12)) + c)
    if narrow:
        Ep = (np.clip(np.round(876 * Ep + 64), 64, 940) - 64) / 876
    else:
        Ep = np.round(1023 * Ep) / 1023
    E = np.where(Ep <= 0.5, Ep ** 2 / 3, (np.exp((Ep - c) / a) + b) / 12)
    return np.clip(E, 0, 1).astype(np.float32)


def msfp(x, mant, block=16):
    """Values through block floating point as Microsoft's MSFP (Darvish Rouhani et al. 2020, Pushing the limits of
    narrow precision inferencing at cloud scale with Microsoft floating point, NeurIPS), as an FPGA inference front
    end keeps its input tensors: each block of `block` consecutive values (row-major) shares the exponent of its
    largest magnitude, each value a sign and `mant` mantissa bits (3: MSFP12, 7: MSFP16), rounded to nearest and
    saturated; read back as float32."""
    a = np.asarray(x, np.float64).reshape(-1, D)
    out = np.zeros_like(a)
    for k in range(0, D, block):
        blk = a[:, k:k + block]
        m = np.abs(blk).max(1, keepdims=True)
        e = np.floor(np.log2(np.maximum(m, 1e-30)))
        step = 2.0 ** (e - mant + 1)
        q = np.clip(np.round(blk / step), -(2 ** mant - 1), 2 ** mant - 1) * step
        out[:, k:k + block] = np.where(m > 0, q, 0.0)
    return np.clip(out, 0, 1).reshape(np.shape(x)).astype(np.float32)


def run_benign_heldout23(h, baton, s, pool, weights, counts):
    """Benign clients of `--habits heldout23` (fixed with seeds 23001, 23002, 23003). Each client draws from its
    own seeded generator:
      a persona   rise: RISE explanations (Petsiuk, Das & Saenko 2018, RISE: randomized input sampling for explanation
                    of black-box models, BMVC) as the authors' code generates its masks: `ri_masks` (one of, per client)
                    random binary masks on an s x s grid (`ri_grid`, one of, per client; each cell kept with
                    probability 0.5), upsampled bilinearly to (s + 1) cells and cropped at a random shift to 8x8; each
                    explained pool digit multiplied by every mask (a black baseline), `ri_batch` (one of, per client)
                    masked inputs a request (scores); `ri_idle` (lo, hi) turns between digits;
                  imagenetp: a robustness audit by ImageNet-P's protocol (Hendrycks & Dietterich 2019, Benchmarking
                    neural network robustness to common corruptions and perturbations, ICLR): perturbation sequences
                    of `ip_frames` frames for each audited pool digit, one perturbation type at a time (Gaussian
                    noise re-drawn every frame, sub-pixel translation, rotation, zoom-out, brightness; the severity
                    one of `ip_sev` per client), consecutive frames compared for flips; a sequence's frames in
                    requests of `ip_batch` (one of, per client; scores); `ip_idle` (lo, hi) turns between sequences,
                    `ip_type_idle` between types;
                  dice: a virtual-tabletop companion app reading physical ten-sided dice (numerals 0-9, 6 and 9
                    underlined) in a webcam dice tray: each roll `dc_dice` (one of, per client) dice; frames while they
                    tumble (`dc_tumble` (lo, hi): motion blur, the numeral turning and foreshortened), then settled
                    frames until two consecutive reads agree (the numerals at any angle); every frame one request of
                    every die's crop (scores); `dc_idle` (lo, hi) turns between frames, `dc_roll_idle` between rolls;
                  birdring: a bird-ringing resighting app reading the engraved codes of leg rings from digiscoped
                    photos (a phone on a spotting scope): each bird's ring code (`br_len` digits around the ring),
                    bursts of `br_burst` (lo, hi) photos as the bird turns, each photo showing the digits on the near
                    half of the ring (those near the edge squeezed, the far ones not read), heat shimmer and scope
                    blur varying photo to photo, low contrast metal; each photo one request of its visible digits
                    (scores); `br_idle` (lo, hi) turns between photos, `br_bird_idle` between birds;
                  scratchcard: an instant-lottery checker app following a scratch-off ticket as it is scratched: the
                    ticket's `sc_nums` (lo, hi) numbers (1-2 digits) under a silver latex coating, a few scratch strokes
                    between frames until the numbers are bare (a spot or two left); every frame one request of every
                    digit crop (scores); `sc_idle` (lo, hi) turns between frames, `sc_ticket_idle` between tickets;
                  icumonitor: a tele-ICU camera retrofitted in front of a bedside patient monitor, reading its numeric
                    fields every `im_every` (lo, hi) turns (heart rate, SpO2, non-invasive blood pressure, respiratory
                    rate, temperature; fields in their own sizes): the values drift as physiology does, the blood
                    pressure changes only at each cuff cycle, a field in alarm flashes (inverted) on alternate frames;
                    every frame one request of every field's digits (scores);
                  pillid: a pill identifier app reading the digits debossed in tablets (relief lit from one side: the
                    groove's edges bright and dark, no ink), the tablet lying at any angle, colour and specular sheen
                    normalised by the app; each pill one request of its imprint's digits (scores), retaken
                    (`pl_retake`) when the app's confidence is low; `pl_idle` (lo, hi) turns between pills;
                  photofinish: race judges' photo-finish software reading hip numbers from a line-scan finish camera
                    (the image's horizontal axis is time: each number stretched or squeezed by the runner's speed,
                    leaning with the stride; the static background smeared into horizontal streaks): each finisher's
                    hip number (1-2 digits) one request (scores), in finishing order, a close finish re-read with a
                    moved crop (`pf_reread`); `pf_field` (lo, hi) finishers a heat; `pf_idle` (lo, hi) turns between
                    finishers, `pf_heat_idle` between heats;
      number      a share `hlg` of clients send values through a 10-bit HLG camera chain (hlg10; narrow or full range,
      format      per client), a share `msfp` block floating point values (msfp; `msfp_mant` mantissa bits, one of);
      a length    log-normal `lengths` (median, sigma, lo, hi) requests.
    Rows are real digits of the client's pool, masks, perturbations and views of them, and rendered numerals, in
    [0, 1]. Every client paces requests and rows under the server's default limits."""
    from scipy.ndimage import gaussian_filter, map_coordinates, shift as nd_shift, zoom as nd_zoom
    rng = s.rng
    s.pace_rows = True
    persona = pick(rng, HAB["personas23"])
    n_req = session_requests(rng)
    u = rng.random()
    fmt_ = "hlg10" if u < HAB["hlg"] else ("msfp" if u < HAB["hlg"] + HAB["msfp"] else "float32")
    s.meta.update(persona=persona, planned_requests=n_req, number_format=fmt_)
    fparam = None
    if fmt_ == "hlg10":
        fparam = bool(rng.random() < 0.5)
        s.meta["hlg_narrow"] = int(fparam)
    elif fmt_ == "msfp":
        fparam = int(rng.choice(HAB["msfp_mant"]))
        s.meta["msfp_mant"] = fparam
    done = [0]
    state = {}

    def draw():
        i = int(rng.choice(len(pool), p=weights))
        counts[i] += 1
        return np.asarray(pool[i], np.float64)

    def full():
        return done[0] >= n_req

    def send(rows, scores=True):
        rows = np.clip(np.asarray(rows, np.float32).reshape(-1, D), 0, 1).astype(np.float32)
        if fmt_ == "hlg10":
            rows = hlg10(rows, fparam)
        elif fmt_ == "msfp":
            rows = msfp(rows, fparam)
        done[0] += 1
        try:
            return query(h, baton, s, rows, scores=scores)
        except Refused:
            return None, None

    def idle(turns):
        for _ in range(max(0, turns)):
            baton.pass_on(s)

    def glyph(ch, width, scale, sx=1.0, rot=0.0, slant=0.0, cx=16.0, cy=16.0, extra=()):
        return _glyph32(list(DIGIT_STROKES[ch]) + list(extra), width, scale, sx, rot, slant, cx, cy)

    def rise():
        st = state
        if "n" not in st:
            st.update(n=int(rng.choice(HAB["ri_masks"])), g=int(rng.choice(HAB["ri_grid"])),
                      b=int(rng.choice(HAB["ri_batch"])))
        g = st["g"]
        cell = int(np.ceil(SIDE / g))
        up = (g + 1) * cell
        x = draw()
        for k in range(0, st["n"], st["b"]):
            if full():
                return
            m = min(st["b"], st["n"] - k)
            grids = (rng.random((m, g, g)) < 0.5).astype(np.float64)
            rows = []
            for j in range(m):
                big = nd_zoom(grids[j], up / g, order=1, mode="nearest")[:up, :up]
                dy, dx = rng.integers(0, cell, 2)
                rows.append(x * big[dy:dy + SIDE, dx:dx + SIDE].reshape(D))
            if send(np.stack(rows))[0] is None:
                return
        idle(int(rng.integers(*HAB["ri_idle"])))

    def imagenetp():
        st = state
        if "types" not in st:
            st.update(types=["gaussian", "translate", "rotate", "zoom", "brightness"], t=0, left=0,
                      sev=int(rng.choice(HAB["ip_sev"])), b=int(rng.choice(HAB["ip_batch"])))
        if st["left"] <= 0:
            if st["t"]:
                idle(int(rng.integers(*HAB["ip_type_idle"])))
            st["kind"] = st["types"][st["t"] % len(st["types"])]
            st["t"] += 1
            st["left"] = int(rng.integers(5, 16))
        st["left"] -= 1
        kind, sev = st["kind"], st["sev"]
        x = draw().reshape(SIDE, SIDE)
        n = HAB["ip_frames"]
        frames = []
        for f in range(n):
            if kind == "gaussian":
                fr = x + rng.normal(0, 0.02 * sev, x.shape)
            elif kind == "translate":
                fr = nd_shift(x, (0.0, (f - n / 2) * 0.02 * sev), order=1, mode="constant")
            elif kind == "rotate":
                th = np.deg2rad((f - n / 2) * 0.3 * sev)
                yy, xx = np.mgrid[0:SIDE, 0:SIDE] - 3.5
                fr = map_coordinates(x, [np.cos(th) * yy - np.sin(th) * xx + 3.5, np.sin(th) * yy + np.cos(th) * xx + 3.5],
                                     order=1, mode="constant")
            elif kind == "zoom":
                z = 1.0 + f * 0.004 * sev
                yy, xx = np.mgrid[0:SIDE, 0:SIDE] - 3.5
                fr = map_coordinates(x, [yy * z + 3.5, xx * z + 3.5], order=1, mode="constant")
            else:
                fr = x + f * 0.004 * sev
            frames.append(np.clip(fr, 0, 1).reshape(D))
        frames = np.stack(frames)
        for k in range(0, n, st["b"]):
            if full():
                return
            if send(frames[k:k + st["b"]])[0] is None:
                return
        idle(int(rng.integers(*HAB["ip_idle"])))

    def dice():
        st = state
        if "n" not in st:
            st.update(n=int(rng.choice(HAB["dc_dice"])), width=rng.uniform(3.6, 4.8), bg=rng.uniform(0.0, 0.12))
        faces = [str(int(v)) for v in rng.integers(0, 10, st["n"])]
        under = [[(0.25, 1.15), (0.75, 1.15)]]

        def crop(ch, rot, sx, blur, bright):
            cov = glyph(ch, st["width"], 0.62, sx, rot, 0.0, 16 + rng.normal(0, 0.8), 16 + rng.normal(0, 0.8),
                        under if ch in "69" else ())
            if blur:
                cov = gaussian_filter(cov, blur)
            return np.clip(st["bg"] + (bright - st["bg"]) * _down8(cov) + rng.normal(0, 0.02, D), 0, 1)
        for _ in range(int(rng.integers(*HAB["dc_tumble"]))):
            if full():
                return
            rows = [crop(str(int(rng.integers(10))), rng.uniform(0, 360), rng.uniform(0.4, 1.0),
                         rng.uniform(1.0, 3.0), rng.uniform(0.6, 0.9)) for _ in range(st["n"])]
            send(np.stack(rows))
            idle(int(rng.integers(*HAB["dc_idle"])))
        rots = rng.uniform(0, 360, st["n"])
        sxs = rng.uniform(0.8, 1.0, st["n"])
        last = None
        for _ in range(6):
            if full():
                return
            rows = [crop(faces[j], rots[j] + rng.normal(0, 1.0), sxs[j], 0.3, 0.85) for j in range(st["n"])]
            lab, _ = send(np.stack(rows))
            if lab is None:
                return
            if last is not None and np.array_equal(lab, last):
                break
            last = lab
            idle(int(rng.integers(*HAB["dc_idle"])))
        idle(int(rng.integers(*HAB["dc_roll_idle"])))

    def birdring():
        code = "".join(str(int(v)) for v in rng.integers(0, 10, int(rng.choice(HAB["br_len"]))))
        gap = 360.0 / (len(code) + 1)
        view = rng.uniform(0, 360)
        ink, bg = rng.uniform(0.45, 0.75), rng.uniform(0.1, 0.3)
        width = rng.uniform(3.2, 4.4)
        for _ in range(int(rng.integers(*HAB["br_burst"]))):
            if full():
                return
            view = (view + rng.uniform(-60, 60)) % 360
            blur = rng.uniform(0.6, 1.4)
            rows = []
            for k, ch in enumerate(code):
                ang = ((k * gap - view + 180) % 360) - 180
                c = np.cos(np.deg2rad(ang))
                if c < 0.45:
                    continue
                cov = glyph(ch, width, 0.72, c, rng.normal(0, 3), 0.0, 16 + np.sin(np.deg2rad(ang)) * 4,
                            16 + rng.normal(0, 0.7))
                cov = gaussian_filter(cov, blur * 2)
                yy, xx = np.mgrid[0:32, 0:32].astype(float)
                amp = rng.uniform(0.3, 1.2)
                ph = rng.uniform(0, 2 * np.pi, 2)
                cov = map_coordinates(cov, [yy + amp * np.sin(xx / 5 + ph[0]), xx + amp * np.sin(yy / 6 + ph[1])],
                                      order=1, mode="constant")
                rows.append(np.clip(bg + (ink - bg) * c * _down8(cov) + rng.normal(0, 0.03, D), 0, 1))
            if rows:
                send(np.stack(rows))
            idle(int(rng.integers(*HAB["br_idle"])))
        idle(int(rng.integers(*HAB["br_bird_idle"])))

    def scratchcard():
        nums = [str(int(rng.integers(1, 100 if rng.random() < 0.7 else 10))) for _ in range(int(rng.integers(*HAB["sc_nums"])))]
        chars = [ch for n in nums for ch in n]
        covs = [glyph(ch, rng.uniform(3.4, 4.2), 0.7, 0.9, rng.normal(0, 1.5), 0.0) for ch in chars]
        coat = np.ones((len(chars), 32, 32))
        silver = rng.uniform(0.55, 0.8)
        yy, xx = np.mgrid[0:32, 0:32].astype(float)
        left = 0
        while coat.mean() > 0.03 or left < 1:
            if full():
                return
            for _ in range(int(rng.integers(1, 4))):
                th = rng.uniform(0, np.pi)
                off = rng.uniform(-12, 12)
                dist = np.abs((xx - 16) * np.sin(th) - (yy - 16) * np.cos(th) - off)
                hit = rng.random(len(chars)) < 0.5
                coat[hit] *= (dist > rng.uniform(3, 7))[None]
            if coat.mean() <= 0.03:
                left += 1
                coat[rng.random(len(chars)) < 0.9] = 0.0
            rows = []
            for cov, ct in zip(covs, coat):
                tex = silver + rng.normal(0, 0.08, (32, 32))
                img = np.where(ct > 0, tex, 0.9 * cov)
                rows.append(np.clip(_down8(img) + rng.normal(0, 0.02, D), 0, 1))
            send(np.stack(rows))
            idle(int(rng.integers(*HAB["sc_idle"])))
        idle(int(rng.integers(*HAB["sc_ticket_idle"])))

    def icumonitor():
        st = state
        if "v" not in st:
            st.update(v=dict(hr=rng.uniform(55, 120), spo2=rng.uniform(90, 99), sys=rng.uniform(95, 150),
                             dia=rng.uniform(55, 90), rr=rng.uniform(10, 24), temp=rng.uniform(36.2, 38.4)),
                      frame=0, bp=dict(sys=None, dia=None), width=rng.uniform(3.2, 4.2), glare=rng.uniform(0, 0.15))
        v = st["v"]
        v["hr"] = float(np.clip(v["hr"] + rng.normal(0, 1.5), 40, 170))
        v["spo2"] = float(np.clip(v["spo2"] + rng.normal(0, 0.4), 84, 100))
        v["rr"] = float(np.clip(v["rr"] + rng.normal(0, 0.5), 6, 35))
        v["temp"] = float(np.clip(v["temp"] + rng.normal(0, 0.01), 35.5, 40))
        v["sys"] = float(np.clip(v["sys"] + rng.normal(0, 1.0), 80, 190))
        v["dia"] = float(np.clip(v["dia"] + rng.normal(0, 0.7), 40, 110))
        if st["frame"] % 10 == 0 or st["bp"]["sys"] is None:
            st["bp"] = dict(sys=int(round(v["sys"])), dia=int(round(v["dia"])))
        st["frame"] += 1
        fields = [(str(int(round(v["hr"]))), 0.85, v["hr"] > 130 or v["hr"] < 45),
                  (str(int(round(v["spo2"]))), 0.75, v["spo2"] < 88),
                  (str(st["bp"]["sys"]), 0.6, False), (str(st["bp"]["dia"]), 0.6, False),
                  (str(int(round(v["rr"]))), 0.6, False), (f"{v['temp']:.1f}".replace(".", ""), 0.55, False)]
        rows = []
        for txt, scale, alarm in fields:
            inv = alarm and st["frame"] % 2 == 0
            for ch in txt:
                cov = glyph(ch, st["width"] * scale / 0.7, scale, 0.85, 0.0, 0.0, 16 + rng.normal(0, 0.3),
                            16 + rng.normal(0, 0.3))
                a = _down8(gaussian_filter(cov, 0.6))
                a = (0.85 - 0.75 * a) if inv else (0.05 + 0.8 * a)
                rows.append(np.clip(a + st["glare"] + rng.normal(0, 0.02, D), 0, 1))
        send(np.stack(rows))
        idle(int(rng.integers(*HAB["im_every"])))

    def pillid():
        imprint = str(int(rng.choice([rng.integers(1, 10), rng.integers(10, 100), rng.integers(100, 1000)])))
        base = rng.uniform(0.05, 0.2)
        light = rng.uniform(0, 2 * np.pi)
        for take in range(3):
            if full():
                return
            rot = rng.uniform(0, 360)
            rows = []
            for ch in imprint:
                cov = gaussian_filter(glyph(ch, rng.uniform(2.6, 3.6), 0.66, 0.85, rot + rng.normal(0, 2), 0.0), 0.8)
                gy, gx = np.gradient(cov)
                relief = np.cos(light) * gx + np.sin(light) * gy
                img = base + rng.uniform(2.0, 3.5) * np.abs(relief) + rng.uniform(0.1, 0.3) * cov
                rows.append(np.clip(_down8(img) + rng.normal(0, 0.02, D), 0, 1))
            lab, p = send(np.stack(rows))
            if p is None or p.max(1).min() >= 0.6 or rng.random() > HAB["pl_retake"]:
                break
            idle(int(rng.integers(1, 4)))
        idle(int(rng.integers(*HAB["pl_idle"])))

    def photofinish():
        st = state
        if "heat" not in st:
            st["heat"] = dict(left=int(rng.integers(*HAB["pf_field"])), streak=rng.uniform(0, 0.15, 32),
                              bibs=list(rng.permutation(np.arange(1, 100))[:12]))
        ht = st["heat"]
        num = str(int(ht["bibs"][ht["left"] % len(ht["bibs"])]))
        sx, lean = rng.uniform(0.6, 1.5), rng.uniform(0.05, 0.3)
        bob = rng.normal(0, 1.0)

        def read(dx):
            rows = []
            for ch in num:
                cov = glyph(ch, rng.uniform(3.4, 4.4), 0.72, sx, 0.0, lean, 16 + dx, 16 + bob)
                img = np.maximum(ht["streak"][:, None] * np.ones((1, 32)), 0.9 * cov)
                rows.append(np.clip(_down8(img) + rng.normal(0, 0.02, D), 0, 1))
            return np.stack(rows)
        send(read(0.0))
        if rng.random() < HAB["pf_reread"] and not full():
            idle(int(rng.integers(0, 2)))
            send(read(rng.choice([-2.0, 2.0])))
        ht["left"] -= 1
        idle(int(rng.integers(*HAB["pf_idle"])))
        if ht["left"] <= 0:
            del st["heat"]
            idle(int(rng.integers(*HAB["pf_heat_idle"])))

    units = {"rise": rise, "imagenetp": imagenetp, "dice": dice, "birdring": birdring, "scratchcard": scratchcard,
             "icumonitor": icumonitor, "pillid": pillid, "photofinish": photofinish}
    while done[0] < n_req:
        units[persona]()


# ---------------------------------------------------------------------------------------------
# Evasion.
def setup_evasion(s, data, slot):
    X, y = data.rows("evasion")
    # Originals: the first half of the evasion rows, one per session in plan order; natural
    # starts: from the second half, a row of another class.
    half = len(X) // 2
    o = slot % half
    if s.cls == "hsj-interleaved":
        o = half + (ORIG2_BASE + s.index) % half
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["evasion"][o]))
    if s.kind in ("square", "square-sybil", "square-jitter"):
        s.check = lambda rows, labels: next((j for j in range(len(labels)) if labels[j] != y0), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)
    if s.kind == "hsj-natural":
        for k in range(half):
            j = half + (slot * 7 + k) % half
            if int(y[j]) != y0:
                s.meta.update(start=X[j], start_label=int(y[j]), start_row=int(data.idx["evasion"][j]))
                break


def run_evasion(h, baton, s):
    x = s.meta["x0"].reshape(1, 1, SIDE, SIDE)
    y1 = np.eye(10, dtype=np.float32)[[s.meta["y"]]]
    try:
        if s.kind.startswith("square"):
            a = SquareAttack(remote(h, baton, s, True), norm=np.inf, eps=SQUARE_EPS, max_iter=1000,
                             verbose=False)
            adv = a.generate(x, y=y1)
        elif s.kind.startswith("simba"):
            a = SimBA(remote(h, baton, s, True), attack="dct" if s.kind == "simba-dct" else "px",
                      epsilon=0.2, max_iter=1000, verbose=False)
            adv = a.generate(x, y=y1)
        else:  # HopSkipJump, label-only
            a = HopSkipJump(remote(h, baton, s, False), norm=2, max_iter=20, max_eval=250,
                            init_eval=25, init_size=100, batch_size=64, verbose=False)
            kw = {}
            if s.kind == "hsj-natural":
                kw["x_adv_init"] = s.meta["start"].reshape(1, 1, SIDE, SIDE)
            adv = a.generate(x, y=y1, **kw)
        adv = adv.reshape(D)
        s.meta["final_l2"] = float(np.linalg.norm(adv - s.meta["x0"]))
        s.meta["final_linf"] = float(np.abs(adv - s.meta["x0"]).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def setup_heldout_attack(s, data, interleave):
    """The unseen classes (HELDOUT_ATTACKS): original from the second half of the evasion rows
    (HELDOUT_ORIG2), success as for the family: Square (both variants) the first query whose label
    differs, inside its L-inf ball by construction (eps 0.2 + 0.02 jitter for square-wide-jitter);
    Boundary and ZOO the first query whose label differs at L2 <= 1.0 from the original."""
    X, y = data.rows("evasion")
    half = len(X) // 2
    offs = HELDOUT_ORIG2[s.cls]
    o = half + offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["evasion"][o]))
    if s.cls.startswith("square"):
        s.check = lambda rows, labels: next((j for j in range(len(labels)) if labels[j] != y0), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)
    if s.cls == "square-wide-jitter":
        s.jitter = True
        s.jitter_amount = WIDE_JITTER
    if s.cls == "square-spread":
        # Each attack request and the cover requests before it go to the same key (key k for
        # attack request k, round-robin), so every key looks like a client with its own traffic
        # and holds a third of the attack's queries.
        s.cover = coverer(s, data)
        s.interleave = interleave
        s.key_of = lambda: s.attack_requests


def run_heldout_attack(h, baton, s):
    x = s.meta["x0"].reshape(1, 1, SIDE, SIDE)
    y1 = np.eye(10, dtype=np.float32)[[s.meta["y"]]]
    try:
        if s.cls == "boundary":
            # Brendel et al. 2018, untargeted, from ART's random-noise start (uniform images until
            # one is misclassified, one a request), ART's defaults but max_iter 100.
            a = BoundaryAttack(remote(h, baton, s, False), targeted=False, max_iter=100, num_trial=25,
                               sample_size=20, init_size=100, batch_size=64, verbose=False)
        elif s.cls == "zoo":
            # Chen et al. 2017, ZOO-ADAM on the pixels (no resize / importance sampling on 8x8),
            # symmetric differences with ART's h = 1e-4; c = 5 and learning rate 0.03 (ART's
            # defaults, c = 1e-3 and 10 iterations, never leave the original's class here).
            a = ZooAttack(remote(h, baton, s, True, one_request=True), confidence=0.0, targeted=False,
                          learning_rate=0.03, max_iter=100, binary_search_steps=1, initial_const=5.0,
                          abort_early=False, use_resize=False, use_importance=False, nb_parallel=16,
                          batch_size=1, variable_h=1e-4, verbose=False)
        else:
            eps = WIDE_EPS if s.cls == "square-wide-jitter" else SQUARE_EPS
            a = SquareAttack(remote(h, baton, s, True), norm=np.inf, eps=eps, max_iter=1000, verbose=False)
        adv = a.generate(x, y=y1).reshape(D)
        s.meta["final_l2"] = float(np.linalg.norm(adv - s.meta["x0"]))
        s.meta["final_linf"] = float(np.abs(adv - s.meta["x0"]).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def setup_heldout5_attack(s, data, interleave):
    """The unseen classes of held out 5 (HELDOUT5_ATTACKS): original from the second half of the
    evasion rows (HELDOUT5_ORIG2). Success: GeoDA, Sign-OPT and SimBA (with cover and jitter) the
    first answered query whose label differs from the true label at L2 <= 1.0 from the original
    (jitter included: the row as sent); targeted HopSkipJump the first answered query labelled
    the target class at L2 <= 1.0 (the target: the true class of its natural start, the first
    row of another class from HELDOUT5_START2 on in the second half of the evasion rows)."""
    X, y = data.rows("evasion")
    half = len(X) // 2
    offs = HELDOUT5_ORIG2[s.cls]
    o = half + offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["evasion"][o]))
    if s.cls == "hsj-targeted":
        for k in range(half):
            j = half + (HELDOUT5_START2 + 3 * s.index + k) % half
            if int(y[j]) != y0:
                s.meta.update(start=X[j], start_label=int(y[j]), start_row=int(data.idx["evasion"][j]),
                              target=int(y[j]))
                break
        t = s.meta["target"]
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] == t and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)
    if s.cls == "simba-cover-jitter":
        # The attacker's own natural requests (coverer) before every attack query, on its one key,
        # and +-0.008 uniform jitter on every value of every attack query.
        s.jitter = True
        s.cover = coverer(s, data)
        s.interleave = interleave


class _GeoDANumpy:
    """numpy for ART's GeoDA, which builds its DCT basis with `np.mat` (gone in NumPy 2) and caches
    it with np.save / np.load in the working directory (here: never written, built every time)."""
    mat = staticmethod(np.asmatrix)
    random = np.random

    @staticmethod
    def save(*args, **kwargs):
        return None

    def __getattr__(self, name):
        return getattr(np, name)


class _GeoDAOs:
    class path:
        @staticmethod
        def exists(p):
            return False

    def __getattr__(self, name):
        return getattr(os, name)


def run_heldout5_attack(h, baton, s):
    from art.attacks.evasion import GeoDA, SignOPTAttack
    import art.attacks.evasion.geometric_decision_based_attack as _geoda
    if not isinstance(_geoda.np, _GeoDANumpy):
        _geoda.np = _GeoDANumpy()
        _geoda.os = _GeoDAOs()
    x = s.meta["x0"].reshape(1, 1, SIDE, SIDE)
    y1 = np.eye(10, dtype=np.float32)[[s.meta["y"]]]
    try:
        kw = {}
        if s.cls == "geoda":
            # Rahmati et al. 2020: random search for an adversarial start, binary searches to the
            # boundary, gradient estimates from label-only probes in a low-frequency DCT subspace
            # (sub_dim 8: every frequency of the 8x8), L2; ART's defaults otherwise, max_iter (its
            # query budget) 2500. Probes are clipped to [0, 1] (ART adds sigma-noise without
            # clipping) and each predict call is one request.
            a = GeoDA(remote(h, baton, s, False, one_request=True), batch_size=64, norm=2, sub_dim=8,
                      max_iter=2500, verbose=False)
        elif s.cls == "signopt":
            # Cheng et al. 2020, untargeted, label-only: 100 random initial directions, then sign
            # gradient estimates from k = 100 one-row probes an iteration and line searches;
            # query_limit 1500 (checked by ART after each iteration), max_iter 100.
            a = SignOPTAttack(remote(h, baton, s, False), targeted=False, num_trial=100, max_iter=100,
                              query_limit=1500, k=100, batch_size=1, verbose=False)
        elif s.cls == "hsj-targeted":
            # HopSkipJump, targeted at the class of a natural digit it starts from, L2, max_iter 15,
            # max_eval 200, init_eval 25, batches of 64.
            a = HopSkipJump(remote(h, baton, s, False), targeted=True, norm=2, max_iter=15, max_eval=200,
                            init_eval=25, init_size=100, batch_size=64, verbose=False)
            y1 = np.eye(10, dtype=np.float32)[[s.meta["target"]]]
            kw["x_adv_init"] = s.meta["start"].reshape(1, 1, SIDE, SIDE)
        else:
            # SimBA (Guo et al. 2019) on ART's DCT basis, epsilon 0.1 (ART's default; the dev
            # classes use 0.2), max_iter 400, with cover traffic and jitter (setup_heldout5_attack).
            a = SimBA(remote(h, baton, s, True), attack="dct", epsilon=0.1, max_iter=400, verbose=False)
        adv = a.generate(x, y=y1, **kw).reshape(D)
        s.meta["final_l2"] = float(np.linalg.norm(adv - s.meta["x0"]))
        s.meta["final_linf"] = float(np.abs(adv - s.meta["x0"]).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def setup_heldout6_attack(s, data, interleave):
    """The unseen classes of held out 6 (HELDOUT6_ATTACKS). Evasion: original from the second half of
    the evasion rows (HELDOUT6_ORIG2). Success: PixelAttack the first answered query whose label
    differs from the true label with at most PIXEL_TH pixels changed (by construction; checked);
    ThresholdAttack the first answered query whose label differs at L-inf <= (THRESHOLD_TH + 1) /
    255 (its ball, by construction: ART truncates each pixel to an integer in 0-255 units;
    checked); HopSkipJump L-inf (spread) the first answered query whose label
    differs at L-inf <= 0.125 (the Square ball of the dev classes) from the original (its natural
    start: the first row of another class from HELDOUT6_START2 on in the second half of the
    evasion rows, wrapping round). activethief and knockoff-adaptive are extraction: surrogate
    agreement after 500 / 1,000 / 2,000 queries, as jbda and knockoff."""
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("evasion")
    half = len(X) // 2
    offs = HELDOUT6_ORIG2[s.cls]
    o = half + offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["evasion"][o]))
    if s.cls == "pixel":
        s.pace_rows = True   # its population goes out as one request of 399 rows
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and int((np.abs(rows[j] - x0) > 1e-4).sum()) <= PIXEL_TH), None)
    elif s.cls == "threshold":
        s.pace_rows = True   # its population goes out as one request of 384 rows
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and float(np.abs(rows[j] - x0).max()) <= (THRESHOLD_TH + 1) / 255.0 + 1e-6), None)
    else:
        st = HELDOUT6_START2[s.index % len(HELDOUT6_START2)]
        for k in range(half):
            j = half + (st + k) % half
            if int(y[j]) != y0:
                s.meta.update(start=X[j], start_label=int(y[j]), start_row=int(data.idx["evasion"][j]))
                break
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and float(np.abs(rows[j] - x0).max()) <= SQUARE_EPS + 1e-6), None)
        # Each attack request and the cover requests before it go to the same key (key k for
        # attack request k, round-robin over 3 keys), as square-spread does for Square.
        s.cover = coverer(s, data)
        s.interleave = interleave
        s.key_of = lambda: s.attack_requests


def run_activethief(h, baton, s, data):
    """ActiveThief (Pal et al. 2020), uncertainty strategy, label-only: the attacker's unlabelled
    natural data is ACTIVETHIEF_POOL augmented variants of the knockoff digits (a shift / rescale /
    N(0, 0.02) noise each, as knockoff's); a random first round of ACTIVETHIEF_ROUND images, then
    each round the substitute is trained on every label so far and the ACTIVETHIEF_ROUND unqueried
    candidates with the highest entropy of its prediction are queried, until 2,000 queries;
    ACTIVETHIEF_BATCH rows a request."""
    X, _ = data.rows("knockoff")
    cand = np.stack([augment(X[int(s.rng.integers(len(X)))], s.rng, 0.02) for _ in range(ACTIVETHIEF_POOL)])
    left = np.ones(len(cand), bool)
    idx = s.rng.choice(len(cand), ACTIVETHIEF_ROUND, replace=False)
    A, L = [], []
    try:
        while True:
            for k in range(0, len(idx), ACTIVETHIEF_BATCH):
                part = idx[k:k + ACTIVETHIEF_BATCH]
                lab, _ = query(h, baton, s, cand[part], scores=False)
                A.append(cand[part])
                L.append(lab)
            left[idx] = False
            n = sum(len(a) for a in A)
            if n >= EXTRACT_BUDGET:
                break
            sub = substitute().fit(np.concatenate(A), np.concatenate(L))
            rest = np.flatnonzero(left)
            P = sub.predict_proba(cand[rest])
            ent = -(P * np.log(P + 1e-12)).sum(axis=1)
            idx = rest[np.argsort(-ent, kind="stable")[:min(ACTIVETHIEF_ROUND, EXTRACT_BUDGET - n)]]
    except Refused as e:
        s.meta["stopped_by"] = str(e)


class IncrementalThief(ScikitlearnClassifier):
    """ART's sklearn wrapper around the substitute MLP, trained incrementally: each fit call is
    one epoch of partial_fit on what it is given (the adaptive strategy of KnockoffNets calls fit
    once a query with that query alone, as it would a Keras model with nb_epochs 1)."""

    def fit(self, x, y, **kwargs):
        y = np.asarray(y)
        self.model.partial_fit(np.asarray(x).reshape(len(x), -1), y.argmax(axis=1) if y.ndim == 2 else y,
                               classes=np.arange(10))


def run_knockoff_adaptive(h, baton, s, data):
    """Knockoff Nets (Orekondy et al. 2019) with ART's KnockoffNets, adaptive strategy: the
    attacker's natural data is 2,000 augmented knockoff digits (a shift / rescale / N(0, 0.02)
    noise each) with their own labels (the bandit's actions: the 10 classes); each query a
    class is drawn from the bandit's policy, a random image of it sent alone (one row a
    request, the full probability vector asked for), the thief trained on it, and the policy
    updated by ART's reward "all" (certainty, diversity, loss); 2,000 queries."""
    X, Y = data.rows("knockoff")
    pick_i = s.rng.integers(len(X), size=EXTRACT_BUDGET)
    nat = np.stack([augment(X[int(i)], s.rng, 0.02) for i in pick_i])
    thief = IncrementalThief(substitute())
    try:
        k = KnockoffNets(remote(h, baton, s, True), batch_size_fit=1, batch_size_query=1,
                         nb_epochs=1, nb_stolen=EXTRACT_BUDGET, sampling_strategy="adaptive",
                         reward="all", use_probability=False, verbose=False)
        k.extract(nat, Y[pick_i], thieved_classifier=thief)
        s.meta["art_thief"] = thief
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def run_heldout6_attack(h, baton, s, data):
    if s.cls == "activethief":
        run_activethief(h, baton, s, data)
        return
    if s.cls == "knockoff-adaptive":
        run_knockoff_adaptive(h, baton, s, data)
        return
    from art.attacks.evasion import PixelAttack, ThresholdAttack
    x = s.meta["x0"].reshape(1, 1, SIDE, SIDE)
    y1 = np.eye(10, dtype=np.float32)[[s.meta["y"]]]
    try:
        kw = {}
        if s.cls == "pixel":
            # Su et al. 2019 / Vargas et al. 2019 (ART PixelAttack): differential evolution over
            # PIXEL_TH (x, y, value) triples (one: the one-pixel attack), population 133 x 3 = 399
            # rows (ART's popsize 400 // 3), one request a generation, a one-row success check
            # after each generation; max_iter PIXEL_ITER generations (ART's default, 100, would be
            # about 40,000 queries). Score-based.
            a = PixelAttack(remote(h, baton, s, True, one_request=True), th=PIXEL_TH, es=1,
                            max_iter=PIXEL_ITER, targeted=False, verbose=False)
        elif s.cls == "threshold":
            # Kotyan & Vargas 2019 (ART ThresholdAttack): differential evolution over all 64 pixel
            # values inside the L-inf ball of THRESHOLD_TH / 255, population 6 x 64 = 384 rows (ART's
            # popsize 400 // 64), one request a generation, a one-row success check after each;
            # max_iter THRESHOLD_ITER generations. Score-based. (ART's SquareAttack L2 cannot run on
            # 8x8 inputs: its tiles are 8 // 5 = 1 pixel and its perturbation divides by zero.)
            a = ThresholdAttack(remote(h, baton, s, True, one_request=True), th=THRESHOLD_TH, es=1,
                                max_iter=THRESHOLD_ITER, targeted=False, verbose=False)
        else:
            # HopSkipJump, untargeted, L-inf (Chen et al. 2020's L-inf variant: its binary search and
            # step in L-inf), label-only, from a natural digit of another class, max_iter 20,
            # max_eval 250, init_eval 25, batches of 64; requests spread over 3 keys with cover.
            a = HopSkipJump(remote(h, baton, s, False), targeted=False, norm=np.inf, max_iter=20, max_eval=250,
                            init_eval=25, init_size=100, batch_size=64, verbose=False)
            kw["x_adv_init"] = s.meta["start"].reshape(1, 1, SIDE, SIDE)
        adv = a.generate(x, y=y1, **kw).reshape(D)
        s.meta["final_l2"] = float(np.linalg.norm(adv - s.meta["x0"]))
        s.meta["final_linf"] = float(np.abs(adv - s.meta["x0"]).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# ---------------------------------------------------------------------------------------------
# Held out 7's unseen attack classes (HELDOUT7_ATTACKS), written from their papers (ART 1.20.1
# has none of them).
class _Budget(Exception):
    pass


def nes_attack(ask, x0, y0, rng):
    """Ilyas et al. 2018 (Black-box Adversarial Attacks with Limited Queries and Information),
    Algorithm 1: the NES gradient estimate with antithetic Gaussian samples (NES_SAMPLES / 2
    pairs, sigma NES_SIGMA) of the true class's log-probability, inside L-inf PGD (step NES_LR,
    the sign of the estimate, projected onto the SQUARE_EPS ball and [0, 1]). Each request: the
    current iterate, then its NES_SAMPLES probes (clipped to [0, 1]); stops once the iterate's
    label differs or before the request that would pass NES_BUDGET queries."""
    x = x0.copy()
    used = 0
    n = NES_SAMPLES
    while used + n + 1 <= NES_BUDGET:
        u = rng.normal(0.0, 1.0, size=(n // 2, D)).astype(np.float32)
        u = np.concatenate([u, -u])
        probes = np.clip(x[None] + NES_SIGMA * u, 0.0, 1.0).astype(np.float32)
        labels, probs = ask(np.concatenate([x[None], probes]))
        used += n + 1
        if labels[0] != y0:
            break
        loss = np.log(np.maximum(probs[1:, y0].astype(np.float64), 1e-12))   # to minimise
        g = (loss[:, None] * u).sum(0) / (n * NES_SIGMA)
        x = np.clip(np.clip(x - NES_LR * np.sign(g), x0 - SQUARE_EPS, x0 + SQUARE_EPS), 0.0, 1.0).astype(np.float32)
    return x


def bandits_attack(ask, x0, y0, rng):
    """Ilyas, Engstrom & Madry 2019 (Prior Convictions: Black-box Adversarial Attacks with Bandits
    and Priors), the bandit L-inf attack as the authors' code runs it: a prior on the gradient
    kept across steps (the time prior; exponentiated-gradient updates with online learning rate
    BANDITS_ONLINE_LR), exploration noise N(0, 1 / dim) (BANDITS_EXPLORATION), two antithetic
    finite-difference probes of the cross-entropy of the true class at L2 distance
    BANDITS_FD_ETA, an image step of BANDITS_IMAGE_LR along the prior's sign, projected onto the
    SQUARE_EPS ball and [0, 1]. The data prior's tile is BANDITS_TILE (1 pixel: on 8x8 digits the
    paper's tiling, 2x2 tiles, made it succeed on a fifth of digits offline, 1-pixel tiles on
    most). Each request: the
    current iterate and its two probes (3 rows, clipped to [0, 1]); stops once the iterate's label
    differs or at BANDITS_BUDGET queries."""
    t = BANDITS_TILE
    m = (SIDE // t) ** 2

    def up(p):
        return np.repeat(np.repeat(p.reshape(SIDE // t, SIDE // t), t, 0), t, 1).reshape(D)
    prior = np.zeros(m)
    x = x0.astype(np.float64)
    used = 0
    while used + 3 <= BANDITS_BUDGET:
        noise = BANDITS_EXPLORATION * rng.normal(0.0, 1.0, size=m) / np.sqrt(m)
        q1, q2 = up(prior + noise), up(prior - noise)
        r1 = np.clip(x + BANDITS_FD_ETA * q1 / max(np.linalg.norm(q1), 1e-12), 0, 1)
        r2 = np.clip(x + BANDITS_FD_ETA * q2 / max(np.linalg.norm(q2), 1e-12), 0, 1)
        labels, probs = ask(np.stack([x, r1, r2]).astype(np.float32))
        used += 3
        if labels[0] != y0:
            break
        ce = -np.log(np.maximum(probs[1:, y0].astype(np.float64), 1e-12))   # to maximise
        est = (ce[0] - ce[1]) / (BANDITS_FD_ETA * BANDITS_EXPLORATION) * noise
        real = (prior + 1.0) / 2.0
        pos = real * np.exp(BANDITS_ONLINE_LR * est)
        neg = (1.0 - real) * np.exp(-BANDITS_ONLINE_LR * est)
        prior = np.nan_to_num(2.0 * pos / (pos + neg) - 1.0)
        x = np.clip(np.clip(x + BANDITS_IMAGE_LR * np.sign(up(prior)), x0 - SQUARE_EPS, x0 + SQUARE_EPS), 0, 1)
    return x.astype(np.float32)


def rays_attack(ask, x0, y0):
    """Chen & Gu 2020 (RayS: A Ray Searching Method for Hard-label Adversarial Attack, KDD),
    L-inf, label-only, as the authors' code (uclaml/RayS `attack_hard_label`) runs it: the ray
    direction is a sign vector (all +1 at first), refined block by block (the whole image, then
    halves, quarters, ... down to single pixels, then again from single pixels), a flipped block
    kept when the boundary along the new ray is nearer: one probe at the current boundary
    distance, then a binary search to RAYS_TOL (the first ray: a line search at L-inf 1, 2, ...,
    RAYS_LIN_RAD first). One row a request; stops once the boundary is within SQUARE_EPS (L-inf)
    or at RAYS_BUDGET queries."""
    st = {"q": 0, "d": np.inf, "sgn": np.ones(D), "x": x0.copy()}

    def succ(v, d):
        if st["q"] >= RAYS_BUDGET:
            raise _Budget()
        st["q"] += 1
        labels, _ = ask(np.clip(x0 + d * v, 0, 1).astype(np.float32)[None])
        return labels[0] != y0

    def binary(sgn):
        nrm = np.linalg.norm(sgn)
        unit = sgn / nrm
        lo = 0.0
        if np.isfinite(st["d"]):
            if not succ(unit, st["d"]):
                return
            hi = st["d"]
        else:
            hi = np.inf
            for d in range(1, RAYS_LIN_RAD + 1):
                if succ(sgn, d):
                    hi = d * nrm
                    break
            if not np.isfinite(hi):
                return
        while hi - lo > RAYS_TOL:
            mid = (lo + hi) / 2.0
            if succ(unit, mid):
                hi = mid
            else:
                lo = mid
        if hi < st["d"]:
            st["d"], st["sgn"] = hi, sgn
            st["x"] = np.clip(x0 + hi * unit, 0, 1).astype(np.float32)

    level, ind = 0, 0
    try:
        while True:
            size = int(np.ceil(D / 2 ** level))
            a, b = ind * size, min(D, (ind + 1) * size)
            att = st["sgn"].copy()
            att[a:b] *= -1.0
            binary(att)
            ind += 1
            if ind == 2 ** level or b == D:
                level, ind = level + 1, 0
            if np.isfinite(st["d"]) and float(np.abs(st["x"] - x0).max()) <= SQUARE_EPS:
                break
    except _Budget:
        pass
    return st["x"]


def mixer(s, data):
    """The natural rows a mixing attacker hides its attack rows among: its own held-out digits
    (the padded attacker's 700), in a shuffled cycle, each use rescaled by U(0.9, 1.1) with
    +-0.008 jitter (as padder's rows); fn(n) -> n such rows."""
    X = np.concatenate([data.rows(k)[0] for k in ("padding", "knockoff", "jbda_seed")])
    order = []

    def row():
        if not order:
            order.extend(s.rng.permutation(len(X)).tolist())
        return jitter(np.clip(X[order.pop()] * s.rng.uniform(0.9, 1.1), 0, 1), s.rng)

    def mix(n):
        return np.stack([row() for _ in range(n)])
    return mix


def setup_heldout7_attack(s, data, interleave):
    """The unseen classes of held out 7 (HELDOUT7_ATTACKS). Evasion (nes, bandits, rays,
    nes-mixed): original from the second half of the evasion rows (HELDOUT7_ORIG2); success: the
    first answered query whose label differs from the true label at L-inf <= 0.125 (SQUARE_EPS,
    the Square ball of the dev classes) from the original, as sent (NES's and Bandits' probes
    can step just outside the ball; those do not count). kcenter is extraction: surrogate
    agreement after 500 / 1,000 / 2,000 queries, as jbda and knockoff."""
    s.pace_rows = s.cls != "bandits"   # nes: 51 rows a request (102 mixed); kcenter: 50
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("evasion")
    half = len(X) // 2
    offs = HELDOUT7_ORIG2[s.cls]
    o = half + offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["evasion"][o]))
    s.check = lambda rows, labels: next(
        (j for j in range(len(labels))
         if labels[j] != y0 and float(np.abs(rows[j] - x0).max()) <= SQUARE_EPS + 1e-6), None)
    if s.cls == "nes-mixed":
        s.mix = mixer(s, data)


def run_kcenter(h, baton, s, data):
    """Extraction by core-set active learning (Sener & Savarese 2018, k-center greedy; one of
    Pal et al. 2020's ActiveThief strategies, not the entropy one held out 6 runs): the
    attacker's unlabelled data is KCENTER_POOL augmented variants of the knockoff digits (a shift
    / rescale / N(0, 0.02) noise each); a random first round of KCENTER_ROUND; then each round the
    substitute is trained on every label so far and KCENTER_ROUND candidates are picked greedily,
    each the unqueried candidate farthest (L2, in the space of the substitute's class
    probabilities) from everything queried or picked, until 2,000 queries; KCENTER_BATCH rows a
    request, the full probability vector asked for (the substitute learns from the labels)."""
    from scipy.spatial.distance import cdist
    X, _ = data.rows("knockoff")
    cand = np.stack([augment(X[int(s.rng.integers(len(X)))], s.rng, 0.02) for _ in range(KCENTER_POOL)])
    left = np.ones(len(cand), bool)
    idx = s.rng.choice(len(cand), KCENTER_ROUND, replace=False)
    A, L = [], []
    try:
        while True:
            for k in range(0, len(idx), KCENTER_BATCH):
                part = idx[k:k + KCENTER_BATCH]
                lab, _ = query(h, baton, s, cand[part], scores=True)
                A.append(cand[part])
                L.append(lab)
            left[idx] = False
            n = sum(len(a) for a in A)
            if n >= EXTRACT_BUDGET:
                break
            sub = substitute().fit(np.concatenate(A), np.concatenate(L))
            P = sub.predict_proba(cand)
            done_i = np.flatnonzero(~left)
            dmin = np.full(len(cand), np.inf)
            for k in range(0, len(done_i), 250):
                dmin = np.minimum(dmin, cdist(P, P[done_i[k:k + 250]]).min(1))
            dmin[~left] = -1.0
            pickd = []
            for _ in range(min(KCENTER_ROUND, EXTRACT_BUDGET - n)):
                j = int(np.argmax(dmin))
                pickd.append(j)
                dmin = np.minimum(dmin, np.sqrt(((P - P[j]) ** 2).sum(-1)))
                dmin[j] = -1.0
                dmin[~left] = -1.0
            idx = np.asarray(pickd)
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def run_heldout7_attack(h, baton, s, data):
    if s.cls == "kcenter":
        run_kcenter(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]
    label_only = s.cls == "rays"

    def ask(rows):
        return query(h, baton, s, rows, scores=not label_only)
    try:
        if s.cls in ("nes", "nes-mixed"):
            adv = nes_attack(ask, x0, y0, s.rng)
        elif s.cls == "bandits":
            adv = bandits_attack(ask, x0, y0, s.rng)
        else:
            adv = rays_attack(ask, x0, y0)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# ---------------------------------------------------------------------------------------------
# Held out 8's unseen attack classes (HELDOUT8_ATTACKS), written from their papers (ART 1.20.1
# has none of them).
def margin_loss(probs, y0):
    """The CW margin on log-probabilities: log p(true) - max over the others (success below 0)."""
    lp = np.log(np.maximum(probs.astype(np.float64), 1e-12))
    other = lp.copy()
    other[:, y0] = -np.inf
    return lp[:, y0] - other.max(1)


def parsimonious_attack(ask, x0, y0):
    """Moon, An & Song 2019 (Parsimonious Black-Box Adversarial Attacks via Efficient Combinatorial
    Optimization, ICML), untargeted L-inf: the perturbation is a vertex of the SQUARE_EPS ball,
    every pixel x0 - eps or x0 + eps (the set A of blocks at +eps; all at -eps to start), and the
    margin loss is minimised by the accelerated (lazy greedy) local search: an insertion phase
    evaluates every block outside A (one request, one row a block), then repeatedly takes the
    block with the best stale gain, re-evaluates it (one row) and adds it while its fresh gain is
    still the best and positive; a deletion phase does the same for blocks in A; the phases
    alternate until neither changes A, then the blocks are split (hierarchical: PARSI_BLOCKS, 2x2
    then single pixels). Stops once a query's label differs, at a local optimum of the single-pixel
    search, or before PARSI_BUDGET queries."""
    import heapq
    used = [0]

    def image(sign):
        return np.clip(x0 + SQUARE_EPS * sign, 0.0, 1.0).astype(np.float32)

    def evaluate(signs):
        if used[0] + len(signs) > PARSI_BUDGET:
            raise _Budget()
        labels, probs = ask(np.stack([image(g) for g in signs]))
        used[0] += len(signs)
        if (labels != y0).any():
            raise StopIteration
        return margin_loss(probs, y0)

    sign = -np.ones(D)
    best = np.inf
    try:
        best = float(evaluate([sign])[0])
        for bi, b in enumerate(PARSI_BLOCKS):
            blocks = [np.array([(i + di) * SIDE + j + dj for di in range(b) for dj in range(b)])
                      for i in range(0, SIDE, b) for j in range(0, SIDE, b)]
            while True:
                changed = False
                for phase in (1.0, -1.0):          # insertion (to +eps), then deletion (to -eps)
                    cand = [k for k, blk in enumerate(blocks) if np.all(sign[blk] == -phase)]
                    if not cand:
                        continue
                    trial = []
                    for k in cand:
                        g = sign.copy()
                        g[blocks[k]] = phase
                        trial.append(g)
                    losses = evaluate(trial)
                    heap = [(-(best - float(l)), k, True) for l, k in zip(losses, cand)]
                    heapq.heapify(heap)
                    while heap:
                        gain, k, fresh = heapq.heappop(heap)
                        if -gain <= 0:
                            break
                        if not fresh:
                            g = sign.copy()
                            g[blocks[k]] = phase
                            l = float(evaluate([g])[0])
                            ng = best - l
                            if heap and ng < -heap[0][0]:
                                heapq.heappush(heap, (-ng, k, True))
                                continue
                            if ng <= 0:
                                break
                        sign[blocks[k]] = phase
                        best = best - (-gain) if fresh else l
                        changed = True
                        heap = [(gn, kk, False) for gn, kk, _ in heap]
                        heapq.heapify(heap)
                if not changed:
                    break                          # a local optimum at this block size
    except (_Budget, StopIteration):
        pass
    return image(sign)


def genattack(ask, x0, y0, rng):
    """Alzantot et al. 2019 (GenAttack: Practical Black-box Attacks with Gradient-Free
    Optimization, GECCO), untargeted L-inf SQUARE_EPS: a population of GEN_POP perturbations,
    uniform in the ball at first; each generation the whole population is one request (scores);
    fitness log(1 - p(true)) - log p(true) (the paper's targeted fitness with the true class's
    complement as the target); the elite is kept, the rest are children of two parents drawn by
    softmax(fitness / GEN_TEMP), each coordinate from parent 1 with probability p1 / (p1 + p2),
    mutated with probability rho by U(-alpha eps, alpha eps), clipped to the ball; rho and alpha
    by the paper's schedule max(GEN_MUT_P, 0.5 * 0.9^plateaus), max(GEN_MUT_RANGE, 0.4 *
    0.9^plateaus), a plateau being 100 generations without a new elite. Stops once a query's
    label differs or before GEN_BUDGET queries."""
    pop = rng.uniform(-SQUARE_EPS, SQUARE_EPS, size=(GEN_POP, D))
    used, plateaus, still = 0, 0, 0
    elite = pop[0]
    while used + GEN_POP <= GEN_BUDGET:
        rows = np.clip(x0[None] + pop, 0.0, 1.0).astype(np.float32)
        labels, probs = ask(rows)
        used += GEN_POP
        if (labels != y0).any():
            return rows[int(np.argmax(labels != y0))]
        p = np.clip(probs[:, y0].astype(np.float64), 1e-12, 1 - 1e-12)
        fit = np.log(1.0 - p) - np.log(p)
        e = int(np.argmax(fit))
        still = still + 1 if e == 0 else 0
        if still >= 100:
            plateaus, still = plateaus + 1, 0
        rho = max(GEN_MUT_P, 0.5 * 0.9 ** plateaus)
        alpha = max(GEN_MUT_RANGE, 0.4 * 0.9 ** plateaus)
        w = np.exp((fit - fit.max()) / GEN_TEMP)
        w /= w.sum()
        elite = pop[e].copy()
        new = [elite]
        for _ in range(GEN_POP - 1):
            a, b = rng.choice(GEN_POP, size=2, p=w)
            child = np.where(rng.random(D) < w[a] / (w[a] + w[b]), pop[a], pop[b])
            mut = rng.random(D) < rho
            child = child + mut * rng.uniform(-alpha * SQUARE_EPS, alpha * SQUARE_EPS, size=D)
            new.append(np.clip(child, -SQUARE_EPS, SQUARE_EPS))
        pop = np.stack(new)
    return np.clip(x0 + elite, 0.0, 1.0).astype(np.float32)


def evolutionary_attack(ask, x0, y0, rng):
    """Dong et al. 2019 (Efficient Decision-based Black-box Adversarial Attacks on Face
    Recognition, CVPR), Algorithm 1, untargeted (dodging), label-only, L2: from an adversarial
    start (uniform-noise images until one is misclassified, one a request, at most 100), each
    step draws z ~ N(0, sigma^2 C) in an EVO_SIDE x EVO_SIDE search space (C diagonal), keeps
    EVO_K of its coordinates (chosen with probability proportional to C's diagonal), upsamples it
    bilinearly to 8x8 and adds mu (x0 - x*); the candidate (clipped to [0, 1]) replaces x* if it
    is adversarial and nearer x0 (one row a request); on success the evolution path and C are
    updated (c_c EVO_CC, c_cov EVO_CCOV); sigma = EVO_SIGMA_FRAC * ||x* - x0||, mu by the 1/5th
    success rule over the last EVO_WINDOW steps (mu *= exp(rate - 1/5)). At most EVO_BUDGET
    queries."""
    from scipy.ndimage import zoom
    used = 0

    def adv(r):
        nonlocal used
        if used >= EVO_BUDGET:
            raise _Budget()
        used += 1
        labels, _ = ask(r.astype(np.float32)[None])
        return labels[0] != y0

    best = None
    try:
        for _ in range(100):
            r = rng.uniform(0.0, 1.0, size=D)
            if adv(r):
                best = r
                break
        if best is None:
            return x0.copy()
        m = EVO_SIDE * EVO_SIDE
        C = np.ones(m)
        pc = np.zeros(m)
        mu = EVO_MU
        hist = collections.deque(maxlen=EVO_WINDOW)
        for _ in range(20 * EVO_BUDGET):
            dist = float(np.linalg.norm(best - x0))
            sigma = EVO_SIGMA_FRAC * dist
            z = rng.normal(0.0, 1.0, size=m) * sigma * np.sqrt(C)
            keep = rng.choice(m, size=EVO_K, replace=False, p=C / C.sum())
            mask = np.zeros(m)
            mask[keep] = 1.0
            z = z * mask
            up = zoom(z.reshape(EVO_SIDE, EVO_SIDE), SIDE / EVO_SIDE, order=1, grid_mode=True,
                      mode="nearest")[:SIDE, :SIDE].reshape(D)
            cand = np.clip(best + up + mu * (x0 - best), 0.0, 1.0)
            ok = float(np.linalg.norm(cand - x0)) < dist and adv(cand)
            hist.append(ok)
            if ok:
                best = cand
                pc = (1 - EVO_CC) * pc + np.sqrt(EVO_CC * (2 - EVO_CC)) * z / max(sigma, 1e-12)
                C = (1 - EVO_CCOV) * C + EVO_CCOV * pc ** 2
            if len(hist) == EVO_WINDOW:
                mu *= np.exp(np.mean(hist) - 0.2)
    except _Budget:
        pass
    return (best if best is not None else x0).astype(np.float32)


def run_eqsolve(h, baton, s, data):
    """Tramer et al. 2016 (Stealing Machine Learning Models via Prediction APIs, USENIX Security),
    the equation-solving attack on a model with a softmax output (multilayer perceptrons: the
    'retraining' of a model of the same family on the returned probabilities): EXTRACT_BUDGET
    inputs uniform at random in the feature space [0, 1]^64, chosen before any answer
    (non-adaptive), EQ_BATCH rows a request, the full probability vector asked for."""
    X = s.rng.uniform(0.0, 1.0, size=(EXTRACT_BUDGET, D)).astype(np.float32)
    try:
        for k in range(0, EXTRACT_BUDGET, EQ_BATCH):
            query(h, baton, s, X[k:k + EQ_BATCH], scores=True)
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def run_dfme(h, baton, s, data):
    """Truong et al. 2021 (Data-Free Model Extraction, CVPR), scaled to a 64-feature input: no
    data; a generator G (z ~ N(0, I) of DFME_NZ, dense 64 ReLU, dense 64, tanh, mapped to [0, 1])
    and a student S (dense 64 ReLU, dense 10). The loss is the L1 distance of S's logits and the
    victim's (recovered from its probabilities by mean correction, as the paper does). Each
    iteration: one generator step (a batch of DFME_BATCH images and one forward-difference probe
    each, x + DFME_EPS u with u uniform on the unit sphere, one request of 2 x DFME_BATCH rows;
    the gradient of the loss in x estimated as d (L(x + eps u) - L(x)) / eps u, back-propagated
    through G, Adam lr DFME_LR_G, G ascending the loss), then DFME_NS student steps (each a fresh
    batch of DFME_BATCH generated images, one request, SGD lr DFME_LR_S on the L1 loss). Until
    EXTRACT_BUDGET queries (the last request cut to fit)."""
    rng = s.rng

    def dense(i, o):
        return rng.normal(0.0, np.sqrt(2.0 / i), size=(i, o)), np.zeros(o)

    G = [*dense(DFME_NZ, 64), *dense(64, D)]
    S = [*dense(D, 64), *dense(64, 10)]
    mom = [np.zeros_like(p) for p in G]
    vel = [np.zeros_like(p) for p in G]
    t = [0]

    def gen(z):
        a1 = z @ G[0] + G[1]
        h1 = np.maximum(a1, 0.0)
        o = np.tanh(h1 @ G[2] + G[3])
        return (o + 1.0) / 2.0, (z, a1, h1, o)

    def student(x):
        a1 = x @ S[0] + S[1]
        h1 = np.maximum(a1, 0.0)
        return h1 @ S[2] + S[3], (x, a1, h1)

    def teacher_logits(probs):
        lp = np.log(np.maximum(probs.astype(np.float64), 1e-12))
        return lp - lp.mean(1, keepdims=True)

    used = [0]

    def ask(x):
        n = min(len(x), EXTRACT_BUDGET - used[0])
        if n <= 0:
            raise _Budget()
        _, probs = query(h, baton, s, x[:n].astype(np.float32), scores=True)
        used[0] += n
        if n < len(x):
            raise _Budget()
        return teacher_logits(probs)

    try:
        while True:
            # Generator step.
            z = rng.normal(0.0, 1.0, size=(DFME_BATCH, DFME_NZ))
            x, cache = gen(z)
            u = rng.normal(0.0, 1.0, size=x.shape)
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            xp = np.clip(x + DFME_EPS * u, 0.0, 1.0)
            T = ask(np.concatenate([x, xp]))
            L0 = np.abs(student(x)[0] - T[:DFME_BATCH]).mean(1)
            L1 = np.abs(student(xp)[0] - T[DFME_BATCH:]).mean(1)
            gx = (D * (L1 - L0) / DFME_EPS)[:, None] * u / DFME_BATCH
            zz, a1, h1, o = cache
            go = -gx * 0.5 * (1.0 - o ** 2)               # ascend the loss
            grads = [None, None, h1.T @ go, go.sum(0)]
            gh = (go @ G[2].T) * (a1 > 0)
            grads[0], grads[1] = zz.T @ gh, gh.sum(0)
            t[0] += 1
            for k in range(4):
                mom[k] = 0.9 * mom[k] + 0.1 * grads[k]
                vel[k] = 0.999 * vel[k] + 0.001 * grads[k] ** 2
                mh = mom[k] / (1 - 0.9 ** t[0])
                vh = vel[k] / (1 - 0.999 ** t[0])
                G[k] = G[k] - DFME_LR_G * mh / (np.sqrt(vh) + 1e-8)
            # Student steps.
            for _ in range(DFME_NS):
                x, _ = gen(rng.normal(0.0, 1.0, size=(DFME_BATCH, DFME_NZ)))
                T = ask(x)
                out, (xx, a1, h1) = student(x)
                go = np.sign(out - T) / (DFME_BATCH * 10)
                gW2, gb2 = h1.T @ go, go.sum(0)
                gh = (go @ S[2].T) * (a1 > 0)
                gW1, gb1 = xx.T @ gh, gh.sum(0)
                for k, g in enumerate((gW1, gb1, gW2, gb2)):
                    S[k] = S[k] - DFME_LR_S * g
    except _Budget:
        pass
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def setup_heldout8_attack(s, data, interleave):
    """The unseen classes of held out 8 (HELDOUT8_ATTACKS). Evasion: original from the second half
    of the evasion rows (HELDOUT8_ORIG2). Success: parsimonious and genattack (L-inf attacks in
    the Square ball) the first answered query whose label differs from the true label at L-inf
    <= 0.125 (SQUARE_EPS) from the original (by construction; checked); evolutionary (an L2
    label-only attack) the first answered query whose label differs at L2 <= 1.0 (L2_GOAL) from
    the original, as HopSkipJump's, Boundary's and SimBA's. eqsolve and dfme are extraction:
    surrogate agreement after 500 / 1,000 / 2,000 queries, as jbda and knockoff."""
    s.pace_rows = s.cls != "evolutionary"
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("evasion")
    half = len(X) // 2
    offs = HELDOUT8_ORIG2[s.cls]
    o = half + offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["evasion"][o]))
    if s.cls == "evolutionary":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and float(np.abs(rows[j] - x0).max()) <= SQUARE_EPS + 1e-6), None)


def run_heldout8_attack(h, baton, s, data):
    if s.cls == "eqsolve":
        run_eqsolve(h, baton, s, data)
        return
    if s.cls == "dfme":
        run_dfme(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]
    label_only = s.cls == "evolutionary"

    def ask(rows):
        return query(h, baton, s, rows, scores=not label_only)
    try:
        if s.cls == "parsimonious":
            adv = parsimonious_attack(ask, x0, y0)
        elif s.cls == "genattack":
            adv = genattack(ask, x0, y0, s.rng)
        else:
            adv = evolutionary_attack(ask, x0, y0, s.rng)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# ---------------------------------------------------------------------------------------------
# Held out 9's unseen attack classes (HELDOUT9_ATTACKS), written from their papers (ART 1.20.1
# has none of them).
def signflip_attack(ask, x0, y0, rng):
    """Chen, Zhang, Hu & Wu 2020 (Boosting Decision-based Black-box Adversarial Attacks with Random
    Sign Flip, ECCV), untargeted, label-only, L-inf: a uniform-noise start (one a request until one
    is adversarial), an L-inf binary search towards the original (10 queries), then each iteration
    two one-row queries: the project step (the perturbation plus random signs times alpha, shrunk
    to its L-inf radius minus alpha; kept if adversarial) and the random sign flip (each value's
    perturbation negated with its own flip probability; kept if adversarial, and the
    probabilities of the flipped values lowered, the others raised, by SFA_FLIP / 10); every 10
    iterations alpha x 1.5 (project success > 0.7) or / 1.5 (< 0.3) and the flip probabilities
    + / - SFA_FLIP likewise, clamped to [SFA_FLIP / 10, 10 SFA_FLIP]. The paper's flip
    probabilities (0.001 of ImageNet's values, clamped to [1e-4, 1e-2]) are scaled to 64 values:
    SFA_FLIP = 1/64, one expected flip. Stops once the perturbation is inside SQUARE_EPS, or before
    SFA_BUDGET queries."""
    used = [0]

    def adv(x):
        if used[0] >= SFA_BUDGET:
            raise _Budget()
        used[0] += 1
        labels, _ = ask(np.clip(x, 0, 1)[None])
        return int(labels[0]) != y0

    delta = None
    try:
        while True:
            xa = rng.uniform(0, 1, D)
            if adv(xa):
                break
        lo, hi = 0.0, float(np.abs(xa - x0).max())
        for _ in range(10):
            mid = (lo + hi) / 2
            if adv(np.clip(np.minimum(np.maximum(xa, x0 - mid), x0 + mid), 0, 1)):
                hi = mid
            else:
                lo = mid
        delta = np.clip(np.minimum(np.maximum(xa, x0 - hi), x0 + hi), 0, 1) - x0
        alpha = SFA_ALPHA
        flip = np.full(D, SFA_FLIP)
        it = proj_ok = flip_ok = 0
        while float(np.abs(delta).max()) > SQUARE_EPS:
            it += 1
            radius = float(np.abs(delta).max())
            dp = np.clip(delta + rng.choice([-1.0, 1.0], D) * alpha, -(radius - alpha), radius - alpha)
            dp = np.clip(x0 + dp, 0, 1) - x0
            if adv(x0 + dp):
                delta = dp
                proj_ok += 1
            f = rng.random(D) < flip
            ds = np.clip(x0 + np.where(f, -delta, delta), 0, 1) - x0
            if adv(x0 + ds):
                delta = ds
                flip_ok += 1
                flip = np.clip(flip + np.where(f, -1.0, 1.0) * SFA_FLIP / 10, SFA_FLIP / 10, SFA_FLIP * 10)
            if it % 10 == 0:
                alpha = alpha * 1.5 if proj_ok > 7 else (alpha / 1.5 if proj_ok < 3 else alpha)
                if flip_ok > 7:
                    flip = np.clip(flip + SFA_FLIP, SFA_FLIP / 10, SFA_FLIP * 10)
                elif flip_ok < 3:
                    flip = np.clip(flip - SFA_FLIP, SFA_FLIP / 10, SFA_FLIP * 10)
                proj_ok = flip_ok = 0
    except _Budget:
        pass
    return (x0 if delta is None else x0 + delta).astype(np.float32)


def surfree_attack(ask, x0, y0, rng):
    """Maho, Furon & Le Merrer 2021 (SurFree: a fast surrogate-free black-box attack, CVPR),
    untargeted, label-only, L2, with the authors' example configuration: a blended uniform-noise
    start (uniform images until one is adversarial, then the first adversarial of 10 blends with
    the original); then each step a new direction (a random {-1, 0, 1} mix of the original's
    lowest SURFREE_FREQ of the zig-zag DCT coefficients, inverse DCT, orthogonalised against the
    current direction and the last SURFREE_ORTHO ones); along the circle of the 2-D plane through
    the original, the current adversarial and that direction, angles +-theta_max x (1, 2/3, 1/3) in
    that order until one is adversarial (none: theta_max x SURFREE_RHO and another direction; one:
    theta_max / SURFREE_RHO), then the binary search on the angle (at most 10 steps, until 1 -
    cos changes by less than 0.01; the opposite angle probed alongside while it stays adversarial)
    and the new point taken; theta_max starts at 30 degrees. One row a request. Stops once within
    L2_GOAL, or before SURFREE_BUDGET queries."""
    from scipy.fft import dctn, idctn
    used = [0]

    def adv(x):
        if used[0] >= SURFREE_BUDGET:
            raise _Budget()
        used[0] += 1
        labels, _ = ask(np.clip(x, 0, 1)[None])
        return int(labels[0]) != y0

    best = None
    try:
        for _ in range(1000):
            noise = rng.uniform(0, 1, D)
            if adv(noise):
                break
        else:
            return x0
        best = noise
        for e in np.linspace(0, 1, 11)[1:]:
            b = (1 - e) * x0 + e * noise
            if adv(b):
                best = b
                break
        # The zig-zag order of the 8x8 DCT coefficients (JPEG's), as the authors' mask.
        order = sorted(range(D), key=lambda k: (k // SIDE + k % SIDE,
                                                (k // SIDE) if (k // SIDE + k % SIDE) % 2 else (k % SIDE)))
        mask = np.zeros(D)
        mask[order[:int(D * SURFREE_FREQ)]] = 1.0
        mask = (mask.reshape(SIDE, SIDE) * (np.abs(dctn(x0.reshape(SIDE, SIDE), norm="ortho")) > 0)).astype(float)
        dist = float(np.linalg.norm(best - x0))
        d1 = (best - x0) / dist
        ortho = [d1]
        tmax = 30.0

        def evo(th, d2):
            t = np.deg2rad(th)
            return np.clip(x0 + dist * np.cos(t) * (np.cos(t) * d1 + np.sin(t) * d2), 0, 1)

        def alpha(th):
            return 1 - np.cos(np.deg2rad(th))
        while dist > L2_GOAL:
            while True:
                r = idctn(mask * rng.integers(-1, 2, (SIDE, SIDE)), norm="ortho").reshape(D)
                O = np.stack(ortho)
                r = r - (O @ r) @ O
                n = float(np.linalg.norm(r))
                if n < 1e-12:
                    continue
                d2 = r / n
                ortho = ortho[:1] + ortho[1:][-(SURFREE_ORTHO - 1):] + [d2]
                found = 0.0
                for i in range(3):
                    for th in ((1 - i / 3) * tmax, -(1 - i / 3) * tmax):
                        if adv(evo(th, d2)):
                            found = th
                            break
                    if found:
                        break
                if found:
                    break
                tmax *= SURFREE_RHO
            lower, sg = found, np.sign(found)
            if abs(abs(lower) - tmax) > 1e-9:
                upper = lower + sg * tmax / 3
            else:
                while True:
                    upper = lower + sg * tmax / 3
                    if abs(upper) >= 90 or not adv(evo(upper, d2)):
                        break
                    lower = upper
            opposite = lower > 0
            for _ in range(10):
                if abs(alpha(upper) - alpha(lower)) <= 0.01:
                    break
                mid = (upper + lower) / 2
                a = adv(evo(mid, d2))
                b = adv(evo(-mid, d2)) if opposite else False
                if a:
                    lower = mid
                elif opposite and b:
                    lower, upper = -mid, -upper
                else:
                    upper = mid
                opposite = opposite and b and lower > 0
            tmax /= SURFREE_RHO
            cand = evo(lower, d2)
            nd = float(np.linalg.norm(cand - x0))
            if nd < dist:
                best, dist = cand, nd
                d1 = (best - x0) / dist
                ortho[0] = d1
    except _Budget:
        pass
    return (x0 if best is None else best).astype(np.float32)


def nattack_attack(ask, x0, y0, rng):
    """Li, Li, Wang, Zhang & Gong 2019 (NATTACK: Learning the Distributions of Adversarial Examples
    for an Improved Black-Box Attack on Deep Neural Networks, ICML), untargeted, score-based,
    L-inf: a Gaussian N(mu, NATTACK_SIGMA^2) in the arctanh space of the image; each iteration
    NATTACK_POP samples, each mapped back by tanh and projected onto the SQUARE_EPS ball of the
    original, sent with the projected mean image (one request of NATTACK_POP + 1 rows, scores);
    the loss max(0, log p(true) - max log p(other)) of every sample, z-scored, moves mu by NES
    (mu -= NATTACK_LR / (pop sigma) sum z_i eps_i). The paper's hyper-parameters but a population
    of 40 (its 300 is 6 iterations of the budget) and the image mapped into arctanh space with the
    box scaled by NATTACK_BOX (the authors' 1 - 1e-6 puts the digits' many exact 0 and 1 values out
    of reach); mu starts at N(0, 0.001^2). Stops at the first adversarial row, or before
    NATTACK_BUDGET queries."""
    z0 = np.arctanh(np.clip((x0.astype(np.float64) - 0.5) / 0.5, -1, 1) * NATTACK_BOX)
    mu = rng.normal(0, 0.001, D)
    used = 0
    x = x0
    while used + NATTACK_POP + 1 <= NATTACK_BUDGET:
        eps = rng.normal(0, 1, (NATTACK_POP, D))
        cand = x0 + np.clip(np.tanh(z0 + mu + NATTACK_SIGMA * eps) * 0.5 + 0.5 - x0, -SQUARE_EPS, SQUARE_EPS)
        mean = x0 + np.clip(np.tanh(z0 + mu) * 0.5 + 0.5 - x0, -SQUARE_EPS, SQUARE_EPS)
        rows = np.clip(np.vstack([mean[None], cand]), 0, 1)
        labels, probs = ask(rows)
        used += len(rows)
        x = rows[0]
        hit = np.flatnonzero(labels != y0)
        if len(hit):
            return rows[hit[0]].astype(np.float32)
        lp = np.log(np.maximum(probs[1:].astype(np.float64), 1e-30))
        other = lp.copy()
        other[:, y0] = -np.inf
        f = np.maximum(lp[:, y0] - other.max(1), 0.0)
        z = (f - f.mean()) / (f.std() + 1e-7)
        mu = mu - NATTACK_LR / (NATTACK_POP * NATTACK_SIGMA) * (z @ eps)
    return x.astype(np.float32)


def prgf_attack(ask, x0, y0, rng, surrogate):
    """Cheng, Dong, Pang, Su & Zhu 2019 (Improving Black-box Adversarial Attacks with a
    Transfer-based Prior, NeurIPS), P-RGF (the biased sampling, no data prior), untargeted,
    score-based, L-inf, as the authors' code runs it: the loss is the cross-entropy of the true
    class; the prior is the gradient of a surrogate (an sklearn MLP(64) the attacker trained on its
    own labelled digits), normalised to RMS 1; at iterations 0, 3, 10, 20, ... the gradient's norm is
    estimated from PRGF_S random probes at sigma; each iteration one probe along the prior (sigma
    doubled until the loss moves) estimates alpha, the cosine of prior and gradient; from alpha,
    the dimension and q = PRGF_Q the optimal lambda; unless lambda is 1 (then the prior itself), q
    probes along sqrt(lambda) prior + sqrt(1 - lambda) (random, orthogonal to the prior) give the
    gradient estimate; then an L-inf step of PRGF_LR (the paper's lr / eps, 0.1) times its sign,
    projected onto the SQUARE_EPS ball; sigma starts at 1e-4 and is tried back at it every other
    iteration (two probes). Each phase's probes are one request: the sigma check, the norm and prior
    probes, the q probes, then the new iterate alone. Stops when the iterate's label differs, or before PRGF_BUDGET
    queries."""
    n = D
    q = PRGF_Q
    used = [0]
    W1, W2 = surrogate.coefs_
    b1, b2 = surrogate.intercepts_

    def prior_grad(x):
        a = x @ W1 + b1
        z = np.maximum(a, 0) @ W2 + b2
        p = np.exp(z - z.max())
        p /= p.sum()
        p[list(surrogate.classes_).index(y0)] -= 1.0
        return ((p @ W2.T) * (a > 0)) @ W1.T

    def loss(rows):
        if used[0] + len(rows) > PRGF_BUDGET:
            raise _Budget()
        labels, probs = ask(np.clip(rows, 0, 1))
        used[0] += len(rows)
        return labels, -np.log(np.maximum(probs[:, y0].astype(np.float64), 1e-30))

    def rms(v):
        return float(np.sqrt(np.mean(np.square(v))))
    x = x0.astype(np.float64).copy()
    sigma = 1e-4
    norm_sq = 1.0
    try:
        labels, ls = loss(x[None])
        l0 = float(ls[0])
        ite = 0
        while int(labels[0]) == y0:
            prior = prior_grad(x)
            prior = prior / max(rms(prior), 1e-12)
            if ite % 2 == 0 and sigma != 1e-4:
                # Try sigma back at 1e-4: two random probes (RMS 1) that must both move the loss.
                r2 = rng.normal(size=(2, n))
                _, lb = loss(x + 1e-4 * r2 / np.maximum(np.sqrt(np.mean(r2 ** 2, axis=1, keepdims=True)), 1e-12))
                if lb[0] != l0 and lb[1] != l0:
                    sigma = 1e-4
            rows = []
            est = ite % 10 == 0 or ite == 3
            if est:
                pert = rng.normal(size=(PRGF_S, n))
                pert /= np.maximum(np.sqrt(np.mean(pert ** 2, axis=1, keepdims=True)), 1e-12)
                rows += list(x + sigma * pert)
            rows.append(x + sigma * prior)
            _, lr_ = loss(np.stack(rows))
            if est:
                norm_sq = float(np.mean(((lr_[:PRGF_S] - l0) / sigma) ** 2))
            diff = float(lr_[-1] - l0)
            while diff == 0:
                sigma *= 2
                _, lp = loss((x + sigma * prior)[None])
                diff = float(lp[0] - l0)
            a = diff / sigma / max(np.sqrt(np.sum(prior ** 2) * norm_sq), 1e-12)
            if a < 0:
                prior, a = -prior, -a
            best = (1 - a ** 2) * (1 - a ** 2 * (n + 2 * q - 2)) \
                / (a ** 4 * n * (n + 2 * q - 2) - 2 * a ** 2 * n * q + 1)
            lam = best if 0 < best < 1 else (0.0 if a ** 2 * (n + 2 * q - 2) < 1 else 1.0)
            if a >= 1:
                lam = 1.0
            if lam == 1.0:
                final = prior
            else:
                pert = rng.normal(size=(q, n))
                pert -= (pert @ prior)[:, None] * prior[None] / max(float(np.sum(prior ** 2)), 1e-12)
                pert /= np.maximum(np.sqrt(np.mean(pert ** 2, axis=1, keepdims=True)), 1e-12)
                pert = np.sqrt(1 - lam) * pert + np.sqrt(lam) * prior
                while True:
                    _, lq = loss(x + sigma * pert)
                    g = ((lq - l0)[:, None] * pert).mean(0)
                    if rms(g) == 0:
                        sigma *= 5
                    else:
                        break
                final = g / rms(g)
            x = np.clip(np.clip(x + PRGF_LR * np.sign(final), x0 - SQUARE_EPS, x0 + SQUARE_EPS), 0, 1)
            labels, ls = loss(x[None])
            l0 = float(ls[0])
            ite += 1
    except _Budget:
        pass
    return x.astype(np.float32)


def run_copycat(h, baton, s, data):
    """Correia-Silva et al. 2018 (Copycat CNN: Stealing Knowledge by Persuading Confession with
    Random Non-Labeled Data, IJCNN): the attacker has no digits, only non-problem-domain images:
    here handwritten capital letters (LETTERS through pen_glyph: rotation +-15 degrees, size
    0.65-0.9 of the box, shear +-0.25, offset +-0.12, wobble 0.02, pen 2.4-4 px of 32, with the UCI
    optdigits pre-processing the attacker read in the dataset's description), EXTRACT_BUDGET of
    them, each a uniformly drawn letter; labels only ("persuading confession": the hard label);
    COPYCAT_BATCH rows a request, the requests round-robin over the session's COPYCAT_KEYS keys
    (the accounts a thief opens so that no one account holds the whole stolen set)."""
    letters = sorted(LETTERS)
    X = np.stack([pen_glyph(LETTERS[letters[int(s.rng.integers(len(letters)))]], s.rng, width=(2.4, 4.0),
                            rot=15.0, scale=(0.65, 0.9), shear=0.25, shift=0.12, wobble=0.02)
                  for _ in range(EXTRACT_BUDGET)])
    try:
        for k in range(0, EXTRACT_BUDGET, COPYCAT_BATCH):
            query(h, baton, s, X[k:k + COPYCAT_BATCH], scores=False)
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def setup_heldout9_attack(s, data, interleave):
    """The unseen classes of held out 9 (HELDOUT9_ATTACKS). Evasion: original from the second half
    of the evasion rows (HELDOUT9_ORIG2). Success: signflip, nattack and prgf (L-inf attacks in the
    Square ball) the first answered query whose label differs from the true label at L-inf <=
    0.125 (SQUARE_EPS) from the original; surfree (an L2 label-only attack) the first answered
    query whose label differs at L2 <= 1.0 (L2_GOAL) from the original, as HopSkipJump's; rows as
    sent. copycat is extraction: surrogate agreement after 500 / 1,000 / 2,000 queries, as jbda and
    knockoff."""
    s.pace_rows = s.cls in ("nattack", "prgf", "copycat")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("evasion")
    half = len(X) // 2
    offs = HELDOUT9_ORIG2[s.cls]
    o = half + offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["evasion"][o]))
    if s.cls == "surfree":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and float(np.abs(rows[j] - x0).max()) <= SQUARE_EPS + 1e-6), None)


def run_heldout9_attack(h, baton, s, data):
    if s.cls == "copycat":
        run_copycat(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]
    label_only = s.cls in ("signflip", "surfree")

    def ask(rows):
        return query(h, baton, s, rows, scores=not label_only)
    try:
        if s.cls == "signflip":
            adv = signflip_attack(ask, x0, y0, s.rng)
        elif s.cls == "surfree":
            adv = surfree_attack(ask, x0, y0, s.rng)
        elif s.cls == "nattack":
            adv = nattack_attack(ask, x0, y0, s.rng)
        else:
            # The attacker's surrogate: its own 700 labelled digits (the padded attacker's), an
            # sklearn MLP(64) as the extraction classes' substitute.
            A = np.concatenate([data.rows(k)[0] for k in ("padding", "knockoff", "jbda_seed")])
            B = np.concatenate([data.rows(k)[1] for k in ("padding", "knockoff", "jbda_seed")])
            adv = prgf_attack(ask, x0, y0, s.rng, substitute().fit(A, B))
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# ---------------------------------------------------------------------------------------------
# Held out 10's unseen attack classes (HELDOUT10_ATTACKS), written from their papers (ART 1.20.1
# has none of them).
def signhunter_attack(ask, x0, y0, budget=SH_BUDGET):
    """Al-Dujaili & O'Reilly 2020 (Sign Bits Are All You Need for Black-Box Attacks, ICLR),
    Algorithm 1 (SignHunter), untargeted, L-inf eps SQUARE_EPS: the sign vector s starts all +1,
    the iterate x0 + eps * s (clipped to [0, 1]); at depth h the sign vector is split into 2^h
    contiguous chunks, and chunk i's signs are flipped; the flip is kept if the loss (cross-entropy
    of the true label on the answered probabilities) does not fall, else undone; i moves on, h
    deepens after the last chunk of a depth and restarts at 0 after single values. One row a
    request; stops at the first answer whose label differs from y0, or before `budget` queries."""
    used = [0]

    def loss(x):
        if used[0] >= budget:
            raise _Budget()
        used[0] += 1
        labels, probs = ask(x[None])
        return -float(np.log(max(float(probs[0][y0]), 1e-12))), int(labels[0]) != y0

    sgn = np.ones(D)
    xb = np.clip(x0 + SQUARE_EPS * sgn, 0, 1).astype(np.float32)
    try:
        best, done = loss(xb)
        h = i = 0
        while not done:
            n = int(np.ceil(D / 2 ** h))
            sgn[i * n:(i + 1) * n] *= -1
            xn = np.clip(x0 + SQUARE_EPS * sgn, 0, 1).astype(np.float32)
            val, done = loss(xn)
            if val >= best:
                best, xb = val, xn
            else:
                sgn[i * n:(i + 1) * n] *= -1
            i += 1
            if i == 2 ** h or i * n >= D:
                i = 0
                h += 1
                if 2 ** h > D:
                    h = 0
    except _Budget:
        pass
    return xb


def sparse_rs_attack(ask, x0, y0, rng):
    """Croce, Andriushchenko, Singh, Flammarion & Hein 2022 (Sparse-RS, AAAI), the untargeted L0
    attack on a grey-scale image: SRS_K pixels set to values in {0, 1} (uniform), the rest as in x0;
    each iteration max(1, round(alpha * k)) of the perturbed pixels move to new places among the
    unperturbed ones with new random values in {0, 1}, kept if the margin loss (margin_loss) is
    lower; alpha from SRS_ALPHA halved at the paper's iterations 10, 50, 200, 500, 1000, 2000, 4000,
    6000, 8000 of 10,000, rescaled to SRS_BUDGET. One row a request; stops once the answered label
    differs, or before SRS_BUDGET queries."""
    used = [0]
    marks = [int(round(m * SRS_BUDGET / 10000)) for m in (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)]

    def loss(M, V):
        if used[0] >= SRS_BUDGET:
            raise _Budget()
        used[0] += 1
        x = x0.copy()
        x[M] = V
        _, probs = ask(x[None])
        return float(margin_loss(probs, y0)[0]), x

    M = rng.choice(D, SRS_K, replace=False)
    V = rng.integers(0, 2, SRS_K).astype(np.float32)
    best_x = x0.copy()
    try:
        best, best_x = loss(M, V)
        it = 0
        while best >= 0:
            it += 1
            alpha = SRS_ALPHA / (2 ** sum(it > m for m in marks))
            n = max(1, int(round(alpha * SRS_K)))
            out = rng.choice(SRS_K, n, replace=False)
            free = np.setdiff1d(np.arange(D), M)
            M2, V2 = M.copy(), V.copy()
            M2[out] = rng.choice(free, n, replace=False)
            V2[out] = rng.integers(0, 2, n).astype(np.float32)
            val, x = loss(M2, V2)
            if val < best:
                best, best_x, M, V = val, x, M2, V2
    except _Budget:
        pass
    return best_x.astype(np.float32)


def qeba_attack(ask, x0, y0, rng):
    """Li, Xu, Zhang, Yang & Li 2020 (QEBA, CVPR), QEBA-S, untargeted, L2, label-only: HopSkipJump's
    iteration (Chen, Jordan & Wainwright 2020) with gradient probes from a spatial subspace. Start:
    uniform-noise images (one a request) until one is adversarial, a binary search on the blend
    towards x0 (to theta = 1 / d^1.5, d = 64). Each iteration t: B_t = min(QEBA_INIT_EVAL sqrt(t),
    QEBA_MAX_EVAL) probes x_b + delta u, u a QEBA_SUB x QEBA_SUB N(0, 1) image bilinearly upsampled
    to 8x8 and normalised, delta = sqrt(d) theta dist (one request); the sign estimate
    mean((phi - mean phi) u) (phi +-1: adversarial or not); a geometric step search from dist /
    sqrt(t), halving until adversarial; a binary search back to the boundary. Every query but the
    probes one row a request; at most QEBA_BUDGET queries."""
    from scipy.ndimage import zoom
    used = [0]

    def adv(X):
        X = np.clip(np.asarray(X, np.float32).reshape(-1, D), 0, 1)
        if used[0] + len(X) > QEBA_BUDGET:
            raise _Budget()
        used[0] += len(X)
        labels, _ = ask(X)
        return labels != y0

    theta = 1.0 / (D * np.sqrt(D))

    def boundary(xa):
        lo, hi = 0.0, 1.0
        while hi - lo > theta:
            mid = (lo + hi) / 2
            if adv((1 - mid) * x0 + mid * xa)[0]:
                hi = mid
            else:
                lo = mid
        return np.clip((1 - hi) * x0 + hi * xa, 0, 1).astype(np.float32)

    xb = None
    try:
        while True:
            xa = rng.uniform(0, 1, D).astype(np.float32)
            if adv(xa)[0]:
                break
        xb = boundary(xa)
        dist = float(np.linalg.norm(xb - x0))
        t = 0
        while True:
            t += 1
            B = int(min(QEBA_INIT_EVAL * np.sqrt(t), QEBA_MAX_EVAL))
            low = rng.normal(0, 1, (B, QEBA_SUB, QEBA_SUB))
            U = np.stack([zoom(u, SIDE / QEBA_SUB, order=1).reshape(D) for u in low])
            U /= np.linalg.norm(U, axis=1, keepdims=True)
            delta = np.sqrt(D) * theta * dist
            phi = np.where(adv(xb + delta * U), 1.0, -1.0)
            if abs(phi.mean()) < 1.0:
                phi = phi - phi.mean()
            g = (phi[:, None] * U).mean(0)
            g /= max(np.linalg.norm(g), 1e-12)
            xi = dist / np.sqrt(t)
            while not adv(xb + xi * g)[0]:
                xi /= 2
            xb = boundary(np.clip(xb + xi * g, 0, 1))
            dist = float(np.linalg.norm(xb - x0))
    except _Budget:
        pass
    return x0.astype(np.float32) if xb is None else xb


def run_trnd(h, baton, s, data):
    """Juuti, Szyller, Marchal & Asokan 2019 (PRADA, EuroS&P), the T-RND synthetic-sample attack:
    TRND_SEEDS natural seeds (the attacker's jbda_seed digits), labelled; then duplication rounds:
    the substitute (substitute()) trained on every labelled sample, and every sample x of the set
    moved by a targeted I-FGSM towards a random class t other than its oracle label (TRND_STEPS
    steps of TRND_EPS / TRND_STEPS on the sign of the gradient of log p_t of the substitute, kept in
    the TRND_EPS L-inf ball around x and in [0, 1]), the new samples labelled and added, until
    EXTRACT_BUDGET queries; TRND_BATCH rows a request, the probability vector asked for."""
    rng = s.rng
    X, _ = data.rows("jbda_seed")
    new = X[rng.choice(len(X), TRND_SEEDS, replace=False)]
    S = np.zeros((0, D), np.float32)
    L = np.zeros(0, np.int64)
    try:
        while True:
            labs = []
            for k in range(0, len(new), TRND_BATCH):
                lab, _ = query(h, baton, s, new[k:k + TRND_BATCH], scores=True)
                labs.append(lab)
            S = np.concatenate([S, new])
            L = np.concatenate([L, np.concatenate(labs)])
            if len(S) >= EXTRACT_BUDGET:
                break
            sub = substitute().fit(S, L)
            cls = list(sub.classes_)
            W1, W2 = sub.coefs_
            b1, b2 = sub.intercepts_
            T = np.array([rng.choice([c for c in range(10) if c != l]) for l in L])
            x = S.astype(np.float64).copy()
            for _ in range(TRND_STEPS):
                hid = x @ W1 + b1
                mask = hid > 0
                z = np.maximum(hid, 0) @ W2 + b2
                if len(cls) == 2:   # (sklearn's binary case: one logit; not reached with 100 seeds)
                    z = np.concatenate([-z, z], axis=1) / 2
                    W2f = np.concatenate([-W2, W2], axis=1) / 2
                else:
                    W2f = W2
                p = np.exp(z - z.max(1, keepdims=True))
                p /= p.sum(1, keepdims=True)
                grad = np.zeros_like(x)
                for n in range(len(x)):
                    if int(T[n]) in cls:
                        dz = -p[n].copy()
                        dz[cls.index(int(T[n]))] += 1.0       # d log p_t / d z
                        grad[n] = (mask[n] * (W2f @ dz)) @ W1.T
                    else:   # a class the substitute has not seen: a random direction
                        grad[n] = rng.choice([-1.0, 1.0], size=D)
                x = x + (TRND_EPS / TRND_STEPS) * np.sign(grad)
                x = np.clip(np.clip(x, S - TRND_EPS, S + TRND_EPS), 0, 1)
            new = x.astype(np.float32)[:EXTRACT_BUDGET - len(S)]
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def setup_heldout10_attack(s, data, interleave):
    """The unseen classes of held out 10 (HELDOUT10_ATTACKS). Evasion: the original is a row of the
    padding split (HELDOUT10_ORIG_PAD; why there: see the comment above it), one per session by
    session index. Success: signhunter and signhunter-rotate (L-inf attacks at the vertices of the
    Square ball) the first answered query whose label differs from the true label at L-inf <= 0.125
    (SQUARE_EPS) from the original (by construction; checked); sparse-rs (an L0 attack) the first
    answered query whose label differs with at most SRS_K (4) pixels changed (by construction;
    checked), as PixelAttack's with its 1; qeba (an L2 label-only attack) the first answered query
    whose label differs at L2 <= 1.0 (L2_GOAL) from the original, as HopSkipJump's; rows as sent.
    trnd is extraction: surrogate agreement after 500 / 1,000 / 2,000 queries, as jbda and
    knockoff."""
    s.pace_rows = s.cls in ("qeba", "trnd")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT10_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls == "qeba":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)
    elif s.cls == "sparse-rs":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and int((np.abs(rows[j] - x0) > 1e-4).sum()) <= SRS_K), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and float(np.abs(rows[j] - x0).max()) <= SQUARE_EPS + 1e-6), None)


def run_heldout10_attack(h, baton, s, data):
    if s.cls == "trnd":
        run_trnd(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=s.cls != "qeba")
    if s.cls == "signhunter-rotate":
        # The next of the ROT_KEYS keys (in turn) every ROT_QUERIES queries; each block on a key
        # starts with 2-5 requests of the attacker's own natural digits (knockoff-split rows, 30 %
        # with N(0, 0.02) noise; never a padding-split row, so never an original).
        warm, _ = data.rows("knockoff")
        cur = {"k": -1}
        s.key_of = lambda: cur["k"]

        def ask(rows):  # noqa: F811
            b = s.queries // ROT_QUERIES
            if b != cur.get("b"):
                cur["b"] = b
                cur["k"] = b % ROT_KEYS
                for _ in range(int(s.rng.integers(*ROT_WARMUP))):
                    x = warm[int(s.rng.integers(len(warm)))]
                    if s.rng.random() < 0.3:
                        x = np.clip(x + s.rng.normal(0, 0.02, D), 0, 1).astype(np.float32)
                    query(h, baton, s, x[None], scores=True, cover=True)
            return query(h, baton, s, rows, scores=True)
    try:
        if s.cls in ("signhunter", "signhunter-rotate"):
            adv = signhunter_attack(ask, x0, y0)
        elif s.cls == "sparse-rs":
            adv = sparse_rs_attack(ask, x0, y0, s.rng)
        else:
            adv = qeba_attack(ask, x0, y0, s.rng)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# ---------------------------------------------------------------------------------------------
# Held out 11's unseen attack classes (HELDOUT11_ATTACKS), written from their papers (ART 1.20.1
# has none of them).
def zosign_attack(ask, x0, y0, rng, q=ZOS_Q, mu=ZOS_MU, blind=None):
    """Liu, Chen, Chen & Hong 2019 (signSGD via Zeroth-Order Oracle, ICLR), ZO-signSGD, untargeted,
    L-inf eps SQUARE_EPS: each iteration the iterate x and q probes x + mu u_i (u_i uniform on the
    unit sphere, clipped to [0, 1]) one request; the loss is the CW margin on log-probabilities
    (margin_loss); the random gradient-free estimate g = d / (mu q) sum_i (f(x + mu u_i) - f(x)) u_i
    (forward differences, the paper's estimator); x <- Proj(x - ZOS_LR sign(g)) onto the ball and
    [0, 1]. `blind`: query blinding (see run_heldout11_attack): every row sent through it, the
    attacker's loss read off the blinded rows' answers. Stops once the (sent) iterate's label
    differs or before the request that would pass ZOS_BUDGET queries."""
    x = x0.copy()
    used = 0
    while used + q + 1 <= ZOS_BUDGET:
        u = rng.normal(0.0, 1.0, size=(q, D))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        probes = np.clip(x[None] + mu * u, 0.0, 1.0)
        rows = np.concatenate([x[None], probes]).astype(np.float32)
        if blind is not None:
            rows = blind(rows)
        labels, probs = ask(rows)
        used += q + 1
        if labels[0] != y0:
            break
        loss = margin_loss(probs, y0)
        g = (D / (mu * q)) * ((loss[1:] - loss[0])[:, None] * u).sum(0)
        x = np.clip(np.clip(x - ZOS_LR * np.sign(g), x0 - SQUARE_EPS, x0 + SQUARE_EPS), 0.0, 1.0).astype(np.float32)
    return x


def opt_attack(ask, x0, y0, rng):
    """Cheng, Le, Chen, Yi, Zhang & Hsieh 2019 (Query-Efficient Hard-label Black-box Attack: An
    Optimization-based Approach, ICLR), OPT, untargeted, L2, label-only, as the authors' code runs
    it: g(theta) = the smallest lambda with f(x0 + lambda theta / |theta|) != y0 (rows clipped to
    [0, 1]); start: OPT_INIT random N(0, I) directions, each that is adversarial at its own norm
    refined by the fine-grained binary search (one query at the best distance so far first; on to
    tolerance 1e-5) and the best kept; each iteration q = OPT_Q random unit u, g at theta + beta u
    (normalised) by the local search (steps of 1 % out from g(theta), then a binary search to
    tolerance beta / 500), the estimate (1/q) sum (g(theta + beta u) - g(theta)) / beta u; a
    line search from step alpha (OPT_ALPHA; doubled while g falls, up to 15 times; else quartered up
    to 15 times until g falls); the best of the line search and of the probes kept; alpha < 1e-4:
    alpha 1, beta / 10, stop below 0.0005. A probe direction whose boundary lies beyond lambda 20
    (g infinite) is left out of the estimate. One row a request; at most OPT_BUDGET queries."""
    used = [0]

    def adv(theta, lbd):
        if used[0] >= OPT_BUDGET:
            raise _Budget()
        used[0] += 1
        labels, _ = ask(np.clip(x0 + lbd * theta, 0.0, 1.0).astype(np.float32)[None])
        return labels[0] != y0

    def fine(theta, initial, best):
        if initial > best:
            if not adv(theta, best):
                return np.inf
            lbd = best
        else:
            lbd = initial
        hi, lo = lbd, 0.0
        while hi - lo > 1e-5:
            mid = (hi + lo) / 2
            if adv(theta, mid):
                hi = mid
            else:
                lo = mid
        return hi

    def local(theta, initial, tol):
        lbd = initial
        if not adv(theta, lbd):
            lo, hi = lbd, lbd * 1.01
            while not adv(theta, hi):
                hi *= 1.01
                if hi > 20:
                    return np.inf
        else:
            hi, lo = lbd, lbd * 0.99
            while adv(theta, lo):
                lo *= 0.99
        while hi - lo > tol:
            mid = (hi + lo) / 2
            if adv(theta, mid):
                hi = mid
            else:
                lo = mid
        return hi

    best_theta, g_best = None, np.inf
    try:
        for _ in range(OPT_INIT):
            th = rng.normal(0.0, 1.0, D)
            if adv(th, 1.0):
                n0 = float(np.linalg.norm(th))
                th = th / n0
                lbd = fine(th, n0, g_best)
                if lbd < g_best:
                    best_theta, g_best = th, lbd
        if best_theta is None:
            return x0.astype(np.float32)
        theta, g2 = best_theta, g_best
        alpha, beta = OPT_ALPHA, OPT_BETA
        while True:
            grad = np.zeros(D)
            min_g1, min_t = np.inf, None
            for _ in range(OPT_Q):
                u = rng.normal(0.0, 1.0, D)
                u /= np.linalg.norm(u)
                t = theta + beta * u
                t /= np.linalg.norm(t)
                g1 = local(t, g2, beta / 500)
                if np.isfinite(g1):
                    grad += (g1 - g2) / beta * u
                if g1 < min_g1:
                    min_g1, min_t = g1, t
            grad /= OPT_Q
            min_theta, min_g2 = theta, g2
            for _ in range(15):
                nt = theta - alpha * grad
                nt /= np.linalg.norm(nt)
                ng = local(nt, min_g2, beta / 500)
                alpha *= 2
                if ng < min_g2:
                    min_theta, min_g2 = nt, ng
                else:
                    break
            if min_g2 >= g2:
                for _ in range(15):
                    alpha *= 0.25
                    nt = theta - alpha * grad
                    nt /= np.linalg.norm(nt)
                    ng = local(nt, g2, beta / 500)
                    if ng < g2:
                        min_theta, min_g2 = nt, ng
                        break
            if min_g2 <= min_g1:
                theta, g2 = min_theta, min_g2
            else:
                theta, g2 = min_t, min_g1
            if g2 < g_best:
                best_theta, g_best = theta, g2
            if alpha < 1e-4:
                alpha, beta = 1.0, beta * 0.1
                if beta < 0.0005:
                    break
    except _Budget:
        pass
    if best_theta is None:
        return x0.astype(np.float32)
    return np.clip(x0 + g_best * best_theta, 0.0, 1.0).astype(np.float32)


def spatial_grid_attack(ask, x0, y0):
    """Engstrom, Tran, Tsipras, Schmidt & Madry 2019 (Exploring the Landscape of Spatial Robustness,
    ICML), the grid-search attack: every combination of SPATIAL_NROT rotations in [-SPATIAL_ROT,
    SPATIAL_ROT] degrees about the centre and SPATIAL_NSHIFT x SPATIAL_NSHIFT translations in
    [-SPATIAL_SHIFT, SPATIAL_SHIFT] px (the paper's +-3 px of 28, scaled to 8), bilinear, zero fill
    (the background), clipped to [0, 1]; the whole grid is evaluated (the paper's attack keeps a
    misclassified point of it), the smallest transforms first (by (angle / 30)^2 + (|t| / 0.857)^2:
    an attacker after the least visible change; the paper's grid has no order), SPATIAL_NSHIFT^2
    grid points a request (31 requests), labels only."""
    from scipy.ndimage import rotate as nd_rotate, shift as nd_shift
    a = x0.reshape(SIDE, SIDE).astype(np.float64)
    ts = np.linspace(-SPATIAL_SHIFT, SPATIAL_SHIFT, SPATIAL_NSHIFT)
    grid = [(float(ang), float(dy), float(dx)) for ang in np.linspace(-SPATIAL_ROT, SPATIAL_ROT, SPATIAL_NROT)
            for dy in ts for dx in ts]
    grid.sort(key=lambda g: (g[0] / SPATIAL_ROT) ** 2 + (g[1] ** 2 + g[2] ** 2) / SPATIAL_SHIFT ** 2)
    rows = np.clip(np.stack([nd_shift(nd_rotate(a, ang, reshape=False, order=1, mode="constant", cval=0.0),
                                      (dy, dx), order=1, mode="constant", cval=0.0).reshape(D)
                             for ang, dy, dx in grid]), 0.0, 1.0).astype(np.float32)
    found = None
    n = SPATIAL_NSHIFT ** 2
    for k in range(0, len(rows), n):
        labels, _ = ask(rows[k:k + n])
        bad = np.flatnonzero(labels != y0)
        if found is None and len(bad):
            found = rows[k + bad[0]]
    return x0.astype(np.float32) if found is None else found


def _logit_grad(sub, X, labels):
    """d logit_label / d x for an sklearn ReLU MLP with one hidden layer (zero for a class the
    substitute has not seen)."""
    W1, W2 = sub.coefs_
    b1 = sub.intercepts_[0]
    mask = (X @ W1 + b1) > 0
    cls = list(sub.classes_)
    out = np.zeros_like(X, dtype=np.float64)
    for i, l in enumerate(labels):
        if int(l) in cls and W2.shape[1] == len(cls):
            out[i] = (mask[i] * W2[:, cls.index(int(l))]) @ W1.T
    return out


def run_dissector(h, baton, s, data):
    """Wang, Li, Zhao, Zhang, Liu & Wang 2022 (Black-box Dissector: Towards Erasing-based Hard-Label
    Model Stealing Attack, ECCV), hard-label extraction with CAM-driven erasing: the attacker's
    DISSECT_NATURAL natural digits (its knockoff and jbda_seed rows, shuffled) labelled first; then
    DISSECT_ROUNDS rounds: the substitute (substitute()) trained on every labelled sample; for every
    labelled sample its attention map for the victim's label (for an MLP on pixels, Grad-CAM is the
    gradient x input of the label's logit, here summed over DISSECT_BOX x DISSECT_BOX windows), the
    most attended window erased (set to 0, the background); the erased images the attacker has not
    sent yet whose substitute probability of the victim's label drops most are queried (an equal
    share of the remaining budget a round); the erased images are labelled samples of the next
    round (erased again there). Labels only, DISSECT_BATCH rows a request, EXTRACT_BUDGET queries.
    (The paper's random-erasing self-distillation only trains the substitute and sends no query;
    agreement is measured by the harness's own surrogate, as for every extraction class.)"""
    rng = s.rng
    nat = np.concatenate([data.rows("knockoff")[0], data.rows("jbda_seed")[0]])
    nat = nat[rng.permutation(len(nat))][:DISSECT_NATURAL]
    S = np.zeros((0, D), np.float32)
    L = np.zeros(0, np.int64)
    sent = set()

    def label(X):
        labs = []
        for k in range(0, len(X), DISSECT_BATCH):
            lab, _ = query(h, baton, s, X[k:k + DISSECT_BATCH], scores=False)
            labs.append(lab)
        for x in X:
            sent.add(x.tobytes())
        return np.concatenate(labs)
    w = SIDE - DISSECT_BOX + 1
    try:
        L = np.concatenate([L, label(nat)])
        S = np.concatenate([S, nat])
        per = (EXTRACT_BUDGET - len(S)) // DISSECT_ROUNDS
        for r in range(DISSECT_ROUNDS):
            n = per if r < DISSECT_ROUNDS - 1 else EXTRACT_BUDGET - len(S)
            sub = substitute().fit(S, L)
            sal = (_logit_grad(sub, S.astype(np.float64), L) * S).reshape(-1, SIDE, SIDE)
            win = np.zeros((len(S), w, w))
            for i in range(DISSECT_BOX):
                for j in range(DISSECT_BOX):
                    win += sal[:, i:i + w, j:j + w]
            top = win.reshape(len(S), -1).argmax(1)
            E = S.reshape(-1, SIDE, SIDE).copy()
            for k, t in enumerate(top):
                i, j = divmod(int(t), w)
                E[k, i:i + DISSECT_BOX, j:j + DISSECT_BOX] = 0.0
            E = E.reshape(-1, D).astype(np.float32)
            cls = list(sub.classes_)
            P0, P1 = sub.predict_proba(S), sub.predict_proba(E)
            idx = np.array([cls.index(int(l)) if int(l) in cls else 0 for l in L])
            drop = P0[np.arange(len(S)), idx] - P1[np.arange(len(S)), idx]
            fresh = np.array([e.tobytes() not in sent for e in E])
            drop[~fresh] = -np.inf
            pick_i = np.argsort(-drop, kind="stable")[:n]
            pick_i = pick_i[np.isfinite(drop[pick_i])]
            if not len(pick_i):
                break
            Xq = E[pick_i]
            L = np.concatenate([L, label(Xq)])
            S = np.concatenate([S, Xq])
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def setup_heldout11_attack(s, data, interleave):
    """The unseen classes of held out 11 (HELDOUT11_ATTACKS). Evasion: the original is a row of the
    padding split (HELDOUT11_ORIG_PAD, offsets 12-23, disjoint from held out 10's), one per session
    by session index. Success, rows as sent: zosign the first answered query whose label differs
    from the true label at L-inf <= 0.125 (SQUARE_EPS) from the original, as Square's; zosign-blind
    the same at L-inf <= 0.2 (WIDE_EPS: the 0.125 ball plus the blinding, at most 0.075 a value, as
    square-wide-jitter's); opt (an L2 label-only attack) the first answered query whose label
    differs at L2 <= 1.0 (L2_GOAL), as HopSkipJump's; spatial-grid the first answered query whose
    label differs (every row is a grid point, a rotation of at most 30 degrees and a translation of
    at most 0.857 px: the paper's threat model, by construction). dissector is extraction:
    surrogate agreement after 500 / 1,000 / 2,000 queries, as jbda and knockoff."""
    s.pace_rows = s.cls in ("zosign", "zosign-blind", "spatial-grid", "dissector")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT11_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls == "opt":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)
    elif s.cls == "spatial-grid":
        s.check = lambda rows, labels: next((j for j in range(len(labels)) if labels[j] != y0), None)
    else:
        eps = WIDE_EPS if s.cls == "zosign-blind" else SQUARE_EPS
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and float(np.abs(rows[j] - x0).max()) <= eps + 1e-6), None)


def run_heldout11_attack(h, baton, s, data):
    if s.cls == "dissector":
        run_dissector(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=s.cls in ("zosign", "zosign-blind"))

    def blind(rows):
        # Chen, Carlini & Wagner 2020's query blinding: each row its own random transform.
        n = len(rows)
        c = s.rng.uniform(1 - BLIND_CONTRAST, 1 + BLIND_CONTRAST, (n, 1))
        b = s.rng.uniform(-BLIND_BRIGHT, BLIND_BRIGHT, (n, 1))
        z = s.rng.uniform(-BLIND_NOISE, BLIND_NOISE, rows.shape)
        return np.clip(c * (rows - 0.5) + 0.5 + b + z, 0.0, 1.0).astype(np.float32)
    try:
        if s.cls == "zosign":
            adv = zosign_attack(ask, x0, y0, s.rng)
        elif s.cls == "zosign-blind":
            adv = zosign_attack(ask, x0, y0, s.rng, q=BLIND_Q, mu=BLIND_MU, blind=blind)
        elif s.cls == "opt":
            adv = opt_attack(ask, x0, y0, s.rng)
        else:
            adv = spatial_grid_attack(ask, x0, y0)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# ---------------------------------------------------------------------------------------------
# Held out 12's unseen attack classes (HELDOUT12_ATTACKS), written from their papers (ART 1.20.1
# has none of them).
def _mlp_logits(sub, X):
    """The logits of an sklearn ReLU MLPClassifier (any number of hidden layers)."""
    a = np.asarray(X, np.float64)
    for W, b in zip(sub.coefs_[:-1], sub.intercepts_[:-1]):
        a = np.maximum(a @ W + b, 0.0)
    return a @ sub.coefs_[-1] + sub.intercepts_[-1]


def _mlp_jac(sub, x):
    """The (classes x 64) Jacobian of an sklearn ReLU MLPClassifier's logits at x."""
    a = np.asarray(x, np.float64)
    J = np.eye(D)
    for W, b in zip(sub.coefs_[:-1], sub.intercepts_[:-1]):
        z = a @ W + b
        m = z > 0
        J = (J @ W) * m
        a = z * m
    return (J @ sub.coefs_[-1]).T


def attacker_surrogates(data, sizes, rng):
    """Local models of a transfer-prior attacker: MLPs of the given hidden sizes trained on its own
    labelled natural digits (the knockoff and jbda_seed splits, their true labels; never the padding
    split the originals come from)."""
    X = np.concatenate([data.rows("knockoff")[0], data.rows("jbda_seed")[0]])
    y = np.concatenate([data.rows("knockoff")[1], data.rows("jbda_seed")[1]])
    subs = [MLPClassifier(hidden_layer_sizes=hs, max_iter=500, random_state=int(rng.integers(2**31))).fit(X, y)
            for hs in sizes]
    assert all(list(m.classes_) == list(range(10)) for m in subs)
    return subs


def gfcs_attack(ask, x0, y0, rng, subs):
    """Lord, Mueller & Bertinetto 2022 (Attacking deep networks with surrogate-based adversarial
    black-box methods is easy, ICLR), GFCS (gradient first, coimage second), untargeted, L2: SimBA's
    loop (try x + eps q, else x - eps q, keep a step that lowers the loss) whose direction q is the
    normalised gradient of a surrogate's margin loss (logit of the true class minus the largest
    other) at the current x, descending first; each surrogate of the candidate set tried once (drawn
    at random, removed) until a step is accepted, which restores the set; once the set is empty, an
    ODS direction (Tashiro, Song & Ermon 2020: the gradient of w . logits of a random surrogate, w
    uniform in [-1, 1]^10) until a step is accepted. The loss is the victim's CW margin on its
    log-probabilities (margin_loss; the paper's margin loss on logits). One row a request; stops at
    the first misclassified query or at GFCS_BUDGET queries."""
    used = 1
    labels, probs = ask(x0[None])
    if labels[0] != y0:
        return x0
    x, loss = x0.copy(), float(margin_loss(probs, y0)[0])
    cand = list(range(len(subs)))
    while used < GFCS_BUDGET:
        if cand:
            sub = subs[cand.pop(int(rng.integers(len(cand))))]
            z = _mlp_logits(sub, x[None])[0]
            z[y0] = -np.inf
            J = _mlp_jac(sub, x)
            g = J[y0] - J[int(np.argmax(z))]
        else:
            g = rng.uniform(-1.0, 1.0, 10) @ _mlp_jac(subs[int(rng.integers(len(subs)))], x)
        n = float(np.linalg.norm(g))
        if n < 1e-12:
            continue
        q = g / n
        for sgn in (-1.0, 1.0):
            if used >= GFCS_BUDGET:
                break
            xn = np.clip(x + sgn * GFCS_EPS * q, 0.0, 1.0).astype(np.float32)
            labels, probs = ask(xn[None])
            used += 1
            if labels[0] != y0:
                return xn
            ln = float(margin_loss(probs, y0)[0])
            if ln < loss:
                x, loss = xn, ln
                cand = list(range(len(subs)))
                break
    return x


class _Budget(Exception):
    pass


def qfool_attack(ask, x0, y0, rng):
    """Liu, Moosavi-Dezfooli & Frossard 2019 (A Geometry-Inspired Decision-Based Attack, ICCV),
    qFool, untargeted, L2, label-only, in the image space: a start on the boundary (a random
    Gaussian direction v from x0, the distance doubled from 0.5 until the clipped point is
    adversarial, a new direction past 16, then a binary search on the distance to QFOOL_TOL); each
    iteration QFOOL_N probes P + eta_j around the current boundary point P (eta_j Gaussian, L2
    QFOOL_MU, clipped to [0, 1]; one request), z_j = +1 where the label differs and -1 where it does
    not, the normal's estimate sum_j z_j eta_j aggregated over every iteration so far (the paper's
    flat-boundary assumption: the normal changes little near the boundary), then from x0 along the
    estimate: the distance of the best point so far tried first, doubled until adversarial, then a
    binary search; the new point kept if nearer than the best. Every query but the probes one row a
    request; stops once an adversarial point is within L2_GOAL or at QFOOL_BUDGET queries."""
    used = [0]

    def adv(x):
        if used[0] >= QFOOL_BUDGET:
            raise _Budget
        used[0] += 1
        return ask(x[None])[0][0] != y0

    def point(v, r):
        return np.clip(x0 + r * v, 0.0, 1.0).astype(np.float32)

    def search(v, r):
        """The boundary distance along v: r doubled until adversarial (None past 16), bisected."""
        lo = 0.0
        while not adv(point(v, r)):
            lo, r = r, 2 * r
            if r > 16:
                return None
        while r - lo > QFOOL_TOL:
            mid = (lo + r) / 2
            if adv(point(v, mid)):
                r = mid
            else:
                lo = mid
        return r
    try:
        best = None
        while best is None:
            v = rng.normal(0.0, 1.0, D)
            v /= np.linalg.norm(v)
            r = search(v, 0.5)
            if r is not None:
                best = (v, r)
        acc = np.zeros(D)
        while float(np.linalg.norm(point(*best) - x0)) > L2_GOAL and used[0] + QFOOL_N <= QFOOL_BUDGET:
            P = point(*best)
            eta = rng.normal(0.0, 1.0, (QFOOL_N, D))
            eta *= QFOOL_MU / np.linalg.norm(eta, axis=1, keepdims=True)
            probes = np.clip(P[None] + eta, 0.0, 1.0).astype(np.float32)
            labels, _ = ask(probes)
            used[0] += QFOOL_N
            z = np.where(labels != y0, 1.0, -1.0)
            acc += (z[:, None] * (probes - P[None])).sum(0)
            n = float(np.linalg.norm(acc))
            if n < 1e-12:
                continue
            v = acc / n
            r = search(v, best[1])
            if r is not None and np.linalg.norm(point(v, r) - x0) < np.linalg.norm(point(*best) - x0):
                best = (v, r)
    except _Budget:
        pass
    return point(*best) if best is not None else x0


def pointwise_attack(ask, x0, y0, rng):
    """Schott, Rauber, Bethge & Brendel 2019 (Towards the first adversarially robust neural network
    model on MNIST, ICLR), the Pointwise Attack as Foolbox runs it, untargeted, L0, label-only:
    the start is Foolbox's salt-and-pepper noise attack (PW_REPS repetitions; each raises the noise
    probability p in PW_STEPS steps up to its maximum, every value set to 0 with probability p / 2
    and to 1 with p / 2; the maximum is 1, then 1.2 times the last adversarial p; the adversarial
    start nearest x0 in L2 kept); then passes over the perturbed pixels in random order, each reset
    to its original value if the image stays adversarial, until a pass resets none; then passes in
    which each remaining perturbed pixel is binary-searched (10 steps) between its original and
    its current value, until a pass moves none. One row a request; at most PW_BUDGET queries."""
    used = [0]

    def adv(x):
        if used[0] >= PW_BUDGET:
            raise _Budget
        used[0] += 1
        return ask(x[None].astype(np.float32))[0][0] != y0
    x = None
    try:
        top = 1.0
        for _ in range(PW_REPS):
            for p in np.linspace(0.0, top, PW_STEPS + 1)[1:]:
                u = rng.random(D)
                xt = x0.copy()
                xt[u < p / 2] = 0.0
                xt[u >= 1 - p / 2] = 1.0
                if adv(xt):
                    if x is None or np.linalg.norm(xt - x0) < np.linalg.norm(x - x0):
                        x = xt
                    top = min(1.0, 1.2 * p)
                    break
        if x is None:
            return x0
        changed = True
        while changed:
            changed = False
            for i in rng.permutation(np.flatnonzero(x != x0)):
                xt = x.copy()
                xt[i] = x0[i]
                if adv(xt):
                    x, changed = xt, True
        moved = True
        while moved:
            moved = False
            for i in rng.permutation(np.flatnonzero(x != x0)):
                lo, hi = float(x0[i]), float(x[i])
                xt = x.copy()
                for _ in range(10):
                    xt[i] = (lo + hi) / 2
                    if adv(xt):
                        hi = float(xt[i])
                    else:
                        lo = float(xt[i])
                if hi != float(x[i]) and abs(hi - float(x[i])) > 1e-4:
                    x = x.copy()
                    x[i] = hi
                    moved = True
    except _Budget:
        pass
    return x if x is not None else x0


def transfer_ens_attack(ask, x0, y0, rng, subs):
    """Liu, Chen, Liu & Song 2017 (Delving into Transferable Adversarial Examples and Black-box
    Attacks, ICLR), the ensemble transfer attack, untargeted, L-inf: one query of the clean original
    (the attacker checks its label), then candidates crafted offline on an ensemble of local models
    (subs, the logits averaged) by PGD (Madry et al. 2018: TRANSFER_STEPS sign steps of 2.5 eps /
    steps on the ensemble's cross-entropy, a uniform random start in the ball, projection onto the
    ball and [0, 1]), for each eps of TRANSFER_EPS in turn TRANSFER_RESTARTS random starts, each sent
    (one row a request) until one is misclassified. Label-only; at most 1 + 12 queries."""
    if ask(x0[None])[0][0] != y0:
        return x0
    x = x0
    for eps in TRANSFER_EPS:
        for _ in range(TRANSFER_RESTARTS):
            x = np.clip(x0 + rng.uniform(-eps, eps, D), 0.0, 1.0)
            for _ in range(TRANSFER_STEPS):
                z = np.mean([_mlp_logits(m, x[None])[0] for m in subs], axis=0)
                p = np.exp(z - z.max())
                p /= p.sum()
                p[y0] -= 1.0
                g = p @ np.mean([_mlp_jac(m, x) for m in subs], axis=0)
                x = np.clip(np.clip(x + 2.5 * eps / TRANSFER_STEPS * np.sign(g), x0 - eps, x0 + eps), 0.0, 1.0)
            x = x.astype(np.float32)
            if ask(x[None])[0][0] != y0:
                return x
    return x


def run_composite(h, baton, s, data):
    """Mosafi, David & Netanyahu 2019 (Stealing Knowledge from Protected Deep Neural Networks Using
    Composite Unlabeled Data, IJCNN): every query a composite a x_i + (1 - a) x_j of two different
    natural digits of the attacker's (its knockoff and jbda_seed rows, unlabelled to it), a uniform
    in [0, 1], the victim's probabilities asked (the paper trains on the soft labels; agreement is
    measured by the harness's own surrogate, as for every extraction class); COMPOSITE_BATCH rows a
    request, EXTRACT_BUDGET queries."""
    rng = s.rng
    nat = np.concatenate([data.rows("knockoff")[0], data.rows("jbda_seed")[0]]).astype(np.float64)
    try:
        for k in range(0, EXTRACT_BUDGET, COMPOSITE_BATCH):
            n = min(COMPOSITE_BATCH, EXTRACT_BUDGET - k)
            i = rng.integers(len(nat), size=n)
            j = (i + rng.integers(1, len(nat), size=n)) % len(nat)
            a = rng.uniform(0.0, 1.0, (n, 1))
            query(h, baton, s, (a * nat[i] + (1 - a) * nat[j]).astype(np.float32), scores=True)
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def setup_heldout12_attack(s, data, interleave):
    """The unseen classes of held out 12 (HELDOUT12_ATTACKS). Evasion: the original is a row of the
    padding split (HELDOUT12_ORIG_PAD, offsets 24-35, disjoint from held out 10's and 11's), one per
    session by session index. Success, rows as sent: gfcs and qfool (L2 attacks) the first answered
    query whose label differs from the true label at L2 <= 1.0 (L2_GOAL), as SimBA's and
    HopSkipJump's; pointwise (an L0 attack) the first answered query whose label differs with at most
    PW_L0 = 8 of the 64 values changed (an eighth of the image); transfer-ens the first answered query
    whose label differs at L-inf <= 0.125 (SQUARE_EPS), as Square's (every candidate is inside the
    ball by construction). composite is extraction: surrogate agreement after 500 / 1,000 / 2,000
    queries, as jbda and knockoff."""
    s.pace_rows = s.cls in ("qfool", "composite")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT12_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls in ("gfcs", "qfool"):
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)
    elif s.cls == "pointwise":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and int((np.abs(rows[j] - x0) > 1e-6).sum()) <= PW_L0), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and float(np.abs(rows[j] - x0).max()) <= SQUARE_EPS + 1e-6), None)


def run_heldout12_attack(h, baton, s, data):
    if s.cls == "composite":
        run_composite(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=s.cls == "gfcs")
    try:
        if s.cls == "gfcs":
            adv = gfcs_attack(ask, x0, y0, s.rng, attacker_surrogates(data, ((64,), (32, 32)), s.rng))
        elif s.cls == "qfool":
            adv = qfool_attack(ask, x0, y0, s.rng)
        elif s.cls == "pointwise":
            adv = pointwise_attack(ask, x0, y0, s.rng)
        else:
            adv = transfer_ens_attack(ask, x0, y0, s.rng,
                                      attacker_surrogates(data, ((64,), (128,), (32, 32)), s.rng))
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
        s.meta["final_l0"] = int((np.abs(adv - x0) > 1e-6).sum())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# Held out 13's unseen attack classes (HELDOUT13_ATTACKS), written from their papers (ART 1.20.1
# has none of them).
def cornersearch_attack(ask, x0, y0, rng):
    """Croce & Hein 2019 (Sparse and Imperceivable Adversarial Attacks, ICCV), CornerSearch,
    untargeted, L0, score-based: one query of the clean original; then every one-pixel change to a
    corner of the input range (each value set to 0 and to 1, CS_SWEEP_BATCH rows a request), each
    pixel ranked by the lower CW margin (margin_loss) of its two changes, at that corner; then for
    k = 2 .. CS_L0, CS_SAMPLES sets of k distinct pixels drawn from the CS_TOP best-ranked with the
    paper's sampling distribution (rank j of n with probability (2n - 2j + 1) / n^2, linearly
    decreasing), each pixel set to its corner, CS_BATCH sets a request. Stops at the first
    misclassified query."""
    labels, probs = ask(x0[None])
    if labels[0] != y0:
        return x0
    rows = np.repeat(x0[None], 2 * D, axis=0)
    rows[np.arange(2 * D), np.repeat(np.arange(D), 2)] = np.tile([0.0, 1.0], D)
    margin = np.empty(2 * D)
    for k in range(0, 2 * D, CS_SWEEP_BATCH):
        labels, probs = ask(rows[k:k + CS_SWEEP_BATCH])
        if (labels != y0).any():
            return rows[k + int(np.argmax(labels != y0))]
        margin[k:k + CS_SWEEP_BATCH] = margin_loss(probs, y0)
    m2 = margin.reshape(D, 2)
    corner = np.where(m2[:, 0] <= m2[:, 1], 0.0, 1.0)
    order = np.argsort(m2.min(1), kind="stable")[:CS_TOP]
    n = len(order)
    p = (2 * n - 2 * np.arange(1, n + 1) + 1) / float(n * n)
    for k in range(2, CS_L0 + 1):
        for _ in range(0, CS_SAMPLES, CS_BATCH):
            batch = np.repeat(x0[None], CS_BATCH, axis=0)
            for b in range(CS_BATCH):
                pix = order[rng.choice(n, size=k, replace=False, p=p / p.sum())]
                batch[b, pix] = corner[pix]
            labels, _ = ask(batch.astype(np.float32))
            if (labels != y0).any():
                return batch[int(np.argmax(labels != y0))]
    return x0


def bayesopt_attack(ask, x0, y0, rng):
    """Ru, Cobb, Blaas & Gal 2020 (BayesOpt Adversarial Attack, ICLR; after Shukla, Sahu, Willmott
    & Kolter 2019), untargeted, L-inf SQUARE_EPS, score-based: the perturbation a point z of
    [-1, 1]^(BO_LOW^2), upsampled by nearest neighbour to 8x8 and scaled by eps (the paper's reduced
    dimension and interpolation); the objective the victim's CW margin (margin_loss); a GP with a
    Matern-5/2 kernel (one length scale, its hyper-parameters refitted every BO_REFIT queries) on
    every z queried; one query of the clean original, BO_INIT uniform random z, then each query the
    maximiser of expected improvement over BO_CANDS uniform candidates and BO_LOCAL Gaussian (0.2)
    moves of the 5 best so far. One row a request; stops at the first misclassified query or at
    BO_BUDGET queries."""
    from scipy.stats import norm
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
    dim = BO_LOW * BO_LOW
    up = SIDE // BO_LOW

    def img(z):
        return np.clip(x0 + SQUARE_EPS * np.kron(z.reshape(BO_LOW, BO_LOW), np.ones((up, up))).reshape(D),
                       0.0, 1.0).astype(np.float32)
    Z, Y = [], []

    def ev(z):
        labels, probs = ask(img(z)[None])
        Z.append(z)
        Y.append(float(margin_loss(probs, y0)[0]))
        return labels[0] != y0
    if ev(np.zeros(dim)):
        return img(Z[-1])
    for _ in range(BO_INIT):
        if ev(rng.uniform(-1.0, 1.0, dim)):
            return img(Z[-1])
    kernel = ConstantKernel(1.0) * Matern(length_scale=1.0, nu=2.5) + WhiteKernel(1e-3)
    while len(Z) < BO_BUDGET:
        refit = len(Z) % BO_REFIT == 0 or len(Z) == BO_INIT + 1
        gp = GaussianProcessRegressor(kernel, normalize_y=True, optimizer="fmin_l_bfgs_b" if refit else None,
                                      random_state=int(rng.integers(2**31))).fit(np.array(Z), np.array(Y))
        kernel = gp.kernel_
        best = np.array(Z)[np.argsort(Y)[:5]]
        C = np.vstack([rng.uniform(-1.0, 1.0, (BO_CANDS, dim)),
                       np.clip(best[rng.integers(len(best), size=BO_LOCAL)] + rng.normal(0, 0.2, (BO_LOCAL, dim)), -1, 1)])
        mu, sd = gp.predict(C, return_std=True)
        sd = np.maximum(sd, 1e-9)
        imp = min(Y) - mu
        ei = imp * norm.cdf(imp / sd) + sd * norm.pdf(imp / sd)
        if ev(C[int(np.argmax(ei))]):
            return img(Z[-1])
    return img(Z[int(np.argmin(Y))])


def triangle_attack(ask, x0, y0, rng):
    """Wang, Yin, Tang & Liu 2022 (Triangle Attack: A Query-efficient Decision-based Adversarial
    Attack, ECCV), untargeted, L2, label-only: a start of uniform noise (at most 20 draws until one is
    adversarial) bisected to the boundary along the line from the original (to 1e-3); then each
    iteration a 2-D subspace spanned by the current perturbation d = x - x0 and one of the
    TRI_FREQ x TRI_FREQ lowest-frequency DCT basis images (drawn at random, orthogonalised); the
    candidate is the third vertex of the triangle (x0, x, x'): angle alpha at x, beta at x0, so by the
    law of sines |x' - x0| = |d| sin(alpha) / sin(alpha + beta) (beta = pi/2 - alpha at first: the
    shortest for that alpha), at +beta and at -beta, beta halved up to TRI_HALVINGS times while
    neither is adversarial; an adversarial candidate replaces x and alpha falls by TRI_GAMMA (a
    bolder next step), a failed iteration raises it (alpha within TRI_ALPHA). One row a request;
    stops within L2_GOAL or at TRI_BUDGET queries."""
    from scipy.fft import idctn
    basis = []
    for i in range(TRI_FREQ):
        for j in range(TRI_FREQ):
            c = np.zeros((SIDE, SIDE))
            c[i, j] = 1.0
            basis.append(idctn(c, norm="ortho").reshape(D))
    used = [0]

    def adv(x):
        if used[0] >= TRI_BUDGET:
            raise _Budget
        used[0] += 1
        return ask(np.clip(x, 0.0, 1.0)[None].astype(np.float32))[0][0] != y0
    x = None
    try:
        for _ in range(20):
            xr = rng.uniform(0.0, 1.0, D)
            if adv(xr):
                break
        else:
            return x0
        lo, hi = 0.0, 1.0
        while hi - lo > 1e-3:
            mid = (lo + hi) / 2
            if adv(x0 + mid * (xr - x0)):
                hi = mid
            else:
                lo = mid
        x = np.clip(x0 + hi * (xr - x0), 0.0, 1.0)
        alpha = TRI_ALPHA[1] - 0.1
        while np.linalg.norm(x - x0) > L2_GOAL:
            d = x - x0
            r = float(np.linalg.norm(d))
            u = d / r
            b = basis[int(rng.integers(len(basis)))]
            v = b - (b @ u) * u
            if np.linalg.norm(v) < 1e-9:
                continue
            v /= np.linalg.norm(v)
            beta = np.pi / 2 - alpha
            found = None
            for _ in range(TRI_HALVINGS + 1):
                r2 = r * np.sin(alpha) / np.sin(alpha + beta)
                for sgn in (1.0, -1.0):
                    xc = np.clip(x0 + r2 * (np.cos(beta) * u + sgn * np.sin(beta) * v), 0.0, 1.0)
                    if np.linalg.norm(xc - x0) < r and adv(xc):
                        found = xc
                        break
                if found is not None:
                    break
                beta /= 2
            if found is not None:
                x = found
                alpha = max(TRI_ALPHA[0], alpha - TRI_GAMMA)
            else:
                alpha = min(TRI_ALPHA[1], alpha + TRI_GAMMA)
    except _Budget:
        pass
    return x if x is not None else x0


def run_ripper(h, baton, s, data):
    """Barbalau, Cosma, Ionescu & Popescu 2020 (Black-Box Ripper: Copying black-box models using
    generative evolutionary algorithms, NeurIPS): the attacker's generative model of its proxy data
    (here a probabilistic PCA with RIPPER_K components of its knockoff and jbda_seed digits, samples
    mean + W (z * std), clipped), then for each class in turn (0, 1, .., 9, 0, ..) an evolutionary
    search of the latent space: a population of RIPPER_POP z ~ N(0, I), the victim's probabilities
    asked, fitness the probability of the class, the RIPPER_ELITE fittest kept and mutated by
    N(0, RIPPER_SIGMA) into the next population, up to RIPPER_GENS generations, the next class once
    a sample reaches RIPPER_FIT. Every generated sample is labelled training data. A generation a
    request (ripper-sybil: RIPPER_SYBIL_ROWS rows a request, each on a key drawn at random), until
    EXTRACT_BUDGET queries."""
    from sklearn.decomposition import PCA
    rng = s.rng
    nat = np.concatenate([data.rows("knockoff")[0], data.rows("jbda_seed")[0]]).astype(np.float64)
    pca = PCA(RIPPER_K, random_state=0).fit(nat)
    std = np.sqrt(pca.explained_variance_)
    chunk = RIPPER_SYBIL_ROWS if s.cls == "ripper-sybil" else RIPPER_POP
    sent, c = 0, 0
    try:
        while sent < EXTRACT_BUDGET:
            target = c % 10
            c += 1
            Z = rng.normal(0.0, 1.0, (RIPPER_POP, RIPPER_K))
            for _ in range(RIPPER_GENS):
                n = min(RIPPER_POP, EXTRACT_BUDGET - sent)
                if n <= 0:
                    break
                X = np.clip(pca.inverse_transform(Z[:n] * std), 0.0, 1.0).astype(np.float32)
                P = np.concatenate([query(h, baton, s, X[k:k + chunk], scores=True)[1] for k in range(0, n, chunk)])
                sent += n
                fit = P[:, target]
                if fit.max() >= RIPPER_FIT:
                    break
                elite = Z[:n][np.argsort(-fit)[:RIPPER_ELITE]]
                Z = elite[rng.integers(len(elite), size=RIPPER_POP)] + rng.normal(0.0, RIPPER_SIGMA, (RIPPER_POP, RIPPER_K))
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def setup_heldout13_attack(s, data, interleave):
    """The unseen classes of held out 13 (HELDOUT13_ATTACKS). Evasion: the original is a row of the
    padding split (HELDOUT13_ORIG_PAD, offsets 36-44, disjoint from held out 10's, 11's and 12's), one
    per session by session index. Success, rows as sent: cornersearch (an L0 attack) the first
    answered query whose label differs from the true label with at most CS_L0 = 8 of the 64 values
    changed (as pointwise); bayesopt the first answered query whose label differs at L-inf <= 0.125
    (SQUARE_EPS, as Square's; every query is inside the ball by construction); triangle (an L2
    attack) the first answered query whose label differs at L2 <= 1.0 (L2_GOAL, as HopSkipJump's).
    ripper and ripper-sybil are extraction: surrogate agreement after 500 / 1,000 / 2,000 queries,
    as jbda and knockoff."""
    s.pace_rows = s.cls in ("cornersearch", "ripper", "ripper-sybil")
    if s.cls == "ripper-sybil":
        s.key_of = lambda: int(s.rng.integers(len(s.keys)))
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT13_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls == "cornersearch":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and int((np.abs(rows[j] - x0) > 1e-6).sum()) <= CS_L0), None)
    elif s.cls == "bayesopt":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and float(np.abs(rows[j] - x0).max()) <= SQUARE_EPS + 1e-6), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)


def run_heldout13_attack(h, baton, s, data):
    if s.cls in ("ripper", "ripper-sybil"):
        run_ripper(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=s.cls != "triangle")
    try:
        if s.cls == "cornersearch":
            adv = cornersearch_attack(ask, x0, y0, s.rng)
        elif s.cls == "bayesopt":
            adv = bayesopt_attack(ask, x0, y0, s.rng)
        else:
            adv = triangle_attack(ask, x0, y0, s.rng)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
        s.meta["final_l0"] = int((np.abs(adv - x0) > 1e-6).sum())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# Held out 14's unseen attack classes (HELDOUT14_ATTACKS), written from their papers (ART 1.20.1
# has none of them).
def _bilinear_up(low):
    """The (64 x low^2) matrix of bilinear upsampling from low x low to 8x8 (scipy zoom, order 1)."""
    from scipy.ndimage import zoom
    cols = []
    for k in range(low * low):
        e = np.zeros(low * low)
        e[k] = 1.0
        cols.append(zoom(e.reshape(low, low), SIDE / low, order=1, grid_mode=True, mode="nearest")[:SIDE, :SIDE].reshape(D))
    return np.stack(cols, 1)


def autozoom_attack(ask, x0, y0, rng):
    """Tu et al. 2019 (AutoZOOM, AAAI), AutoZOOM-BiLIN, untargeted, L2, score-based: the
    perturbation delta = U z, z in R^(AZ_LOW^2), U bilinear upsampling to 8x8 (the paper's BiLIN
    decoder); the objective f(z) = ||x - x0||^2 + AZ_C * max(margin_loss(x), 0), x = clip(x0 + U z);
    each iteration the averaged random gradient estimate g = (b / q) sum_j (f(z + beta u_j) - f(z)) /
    beta u_j (u_j uniform on the unit sphere, beta AZ_BETA, b = AZ_LOW^2) with q = 1 until the first
    misclassified iterate and 4 after it (the paper's adaptive random gradient estimation), then an
    Adam step (lr AZ_LR). The iterate and its q probes one request. Stops at the first misclassified
    query within L2_GOAL of x0, or at AZ_BUDGET queries."""
    U = _bilinear_up(AZ_LOW)
    dim = AZ_LOW * AZ_LOW
    used = [0]

    def img(z):
        return np.clip(x0 + U @ z, 0.0, 1.0).astype(np.float32)

    def obj(x, probs):
        return float(np.sum((x - x0) ** 2)) + AZ_C * np.maximum(margin_loss(probs, y0), 0.0)

    z = np.zeros(dim)
    m, v = np.zeros(dim), np.zeros(dim)
    q, t, fooled = AZ_Q[0], 0, False
    best = x0
    while used[0] + q + 1 <= AZ_BUDGET:
        u = rng.normal(0.0, 1.0, (q, dim))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        rows = np.stack([img(z)] + [img(z + AZ_BETA * u[j]) for j in range(q)])
        labels, probs = ask(rows)
        used[0] += len(rows)
        for j in range(len(rows)):
            if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL:
                return rows[j]
        if labels[0] != y0:
            best = rows[0]
            if not fooled:
                fooled, q = True, AZ_Q[1]
        f = np.array([obj(rows[j], probs[j:j + 1])[0] for j in range(len(rows))])
        g = (dim / len(u)) * ((f[1:] - f[0]) / AZ_BETA) @ u
        t += 1
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        z = z - AZ_LR * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return best


def perlin8(rng, cells):
    """Perlin gradient noise on the 8x8 grid with `cells` x `cells` lattice cells (random unit
    gradients at the lattice corners, smootherstep interpolation), zero mean."""
    ang = rng.uniform(0.0, 2 * np.pi, (cells + 1, cells + 1))
    G = np.stack([np.cos(ang), np.sin(ang)], -1)
    p = (np.arange(SIDE) + 0.5) / SIDE * cells
    Y, X = np.meshgrid(p, p, indexing="ij")
    i, j = np.minimum(Y.astype(int), cells - 1), np.minimum(X.astype(int), cells - 1)
    fy, fx = Y - i, X - j

    def dot(di, dj):
        g = G[i + di, j + dj]
        return g[..., 0] * (fy - di) + g[..., 1] * (fx - dj)

    def fade(t):
        return t * t * t * (t * (t * 6 - 15) + 10)
    a, b = fade(fy), fade(fx)
    n = (1 - a) * ((1 - b) * dot(0, 0) + b * dot(0, 1)) + a * ((1 - b) * dot(1, 0) + b * dot(1, 1))
    n = n.reshape(D)
    return n - n.mean()


def biased_boundary_attack(ask, x0, y0, rng, starts, sub):
    """Brunner, Diehl, Truong Le & Knoll 2019 (Guessing Smart, ICCV), the Biased Boundary Attack,
    untargeted, L2, label-only, on Brendel et al.'s Boundary Attack as Foolbox runs it. Start: the
    first of the attacker's natural digits (`starts`, in order) the victim labels other than y0,
    blended towards x0 by a binary search (to 1e-3). Each step, from the current adversarial x: a
    Perlin-noise direction (lattice 2, 3 or 4 cells) times the regional mask |x - x0| (normalised),
    projected orthogonal to x - x0, mixed with weight BBA_MIX with the surrogate's direction (minus
    the gradient of `sub`'s logit margin, y0 against the best other class, likewise projected),
    scaled to orth * |x - x0| and put back on the sphere about x0 (the spherical candidate), then
    moved source of the way towards x0 (the candidate), both clipped to [0, 1] and asked in one
    request of 2 rows; the candidate kept when the victim's label differs from y0. Every BBA_ADAPT
    steps orth grows by 1.5 if more than half the spherical candidates were adversarial and shrinks
    by 1.5 if fewer than a fifth were, and source likewise by the candidates (Foolbox's step
    adaptation). Stops within L2_GOAL or at BBA_BUDGET queries."""
    used = [0]

    def labels_of(rows):
        if used[0] + len(rows) > BBA_BUDGET:
            raise _Budget
        used[0] += len(rows)
        return ask(np.clip(np.asarray(rows), 0.0, 1.0).astype(np.float32))[0]

    def unit(a):
        n = np.linalg.norm(a)
        return a / n if n > 1e-12 else a
    x = None
    try:
        for xs in starts:
            if labels_of(xs[None])[0] != y0:
                x = xs.astype(np.float64)
                break
        if x is None:
            return x0
        lo, hi = 0.0, 1.0            # the blend x0 + a (xs - x0): a = 1 adversarial
        while hi - lo > 1e-3:
            mid = (lo + hi) / 2
            if labels_of((x0 + mid * (x - x0))[None])[0] != y0:
                hi = mid
            else:
                lo = mid
        x = x0 + hi * (x - x0)
        orth, source = BBA_ORTH, BBA_SOURCE
        sph_hits, hits, tries = 0, 0, 0
        while np.linalg.norm(x - x0) > L2_GOAL:
            d = x - x0
            r = float(np.linalg.norm(d))
            u = d / r
            eta = perlin8(rng, int(rng.integers(2, 5))) * (np.abs(d) / max(np.abs(d).max(), 1e-12))
            eta = unit(eta - (eta @ u) * u)
            J = _mlp_jac(sub, x)
            z = _mlp_logits(sub, x[None])[0]
            other = int(np.argmax(np.where(np.arange(10) == y0, -np.inf, z)))
            g = -(J[y0] - J[other])
            g = unit(g - (g @ u) * u)
            step = unit((1 - BBA_MIX) * eta + BBA_MIX * g) * orth * r
            xs = np.clip(x0 + (d + step) * (r / np.linalg.norm(d + step)), 0.0, 1.0)
            xc = np.clip(xs + source * (x0 - xs), 0.0, 1.0)
            lab = labels_of(np.stack([xs, xc]))
            tries += 1
            sph_hits += int(lab[0] != y0)
            if lab[1] != y0 and np.linalg.norm(xc - x0) < r:
                x = xc
                hits += 1
            if tries == BBA_ADAPT:
                if sph_hits / tries > 0.5:
                    orth = min(orth * 1.5, 1.0)
                elif sph_hits / tries < 0.2:
                    orth = orth / 1.5
                if hits / tries > 0.5:
                    source = min(source * 1.5, 0.5)
                elif hits / tries < 0.2:
                    source = source / 1.5
                sph_hits, hits, tries = 0, 0, 0
    except _Budget:
        pass
    return x if x is not None else x0


def locsearch_attack(ask, x0, y0, rng):
    """Narodytska & Kasiviswanathan 2017 (Simple Black-Box Adversarial Perturbations for Deep
    Networks, CVPR workshops), LocSearchAdv, untargeted, L0, score-based. A pixel's perturbation is
    its value set to the far end of the range (0 if above 0.5, else 1: the paper's p * sign(I) with
    p large, clipped to the input range; its cyclic r * I update would leave the digits' zero
    background unchanged). One query of the clean original; then each round every candidate pixel's
    perturbation (one row each, the round's probes one request), the candidates ranked by the
    victim's probability of y0, the LS_T lowest applied to the image (one more query), and the next
    candidates the (2 LS_D + 1)^2 neighbourhoods of the applied pixels, less pixels already changed
    (the first round, and any round left without candidates: a random LS_INIT share of the unchanged
    pixels). Stops at the first misclassified query, at LS_MAX_L0 changed pixels or at LS_BUDGET
    queries."""
    labels, _ = ask(x0[None])
    if labels[0] != y0:
        return x0
    used = 1
    x = x0.copy()
    far = np.where(x0 > 0.5, 0.0, 1.0).astype(np.float32)
    changed = np.zeros(D, bool)
    cand = None
    while changed.sum() < LS_MAX_L0 and used < LS_BUDGET:
        if cand is None or not len(cand):
            free = np.flatnonzero(~changed)
            cand = rng.choice(free, size=max(1, int(round(LS_INIT * len(free)))), replace=False)
        cand = cand[:LS_BUDGET - used]
        probes = np.repeat(x[None], len(cand), axis=0)
        probes[np.arange(len(cand)), cand] = far[cand]
        labels, probs = ask(probes)
        used += len(cand)
        if (labels != y0).any():
            return probes[int(np.argmax(labels != y0))]
        best = cand[np.argsort(probs[:, y0], kind="stable")[:LS_T]]
        x[best] = far[best]
        changed[best] = True
        if used >= LS_BUDGET:
            break
        labels, _ = ask(x[None])
        used += 1
        if labels[0] != y0:
            return x
        nb = set()
        for k in best:
            r, c = divmod(int(k), SIDE)
            for dr in range(-LS_D, LS_D + 1):
                for dc in range(-LS_D, LS_D + 1):
                    if 0 <= r + dr < SIDE and 0 <= c + dc < SIDE:
                        nb.add((r + dr) * SIDE + c + dc)
        cand = np.array(sorted(k for k in nb if not changed[k]), np.int64)
    return x


class _NumpyMLP:
    """The ES attacker's substitute: 64 -> 64 ReLU -> 10 softmax, He initialisation, Adam, trained
    on soft labels (cross-entropy against the victim's probabilities)."""

    def __init__(self, rng):
        self.rng = rng
        self.P = [rng.normal(0, np.sqrt(2.0 / D), (D, 64)), np.zeros(64), rng.normal(0, np.sqrt(2.0 / 64), (64, 10)), np.zeros(10)]
        self.m = [np.zeros_like(p) for p in self.P]
        self.v = [np.zeros_like(p) for p in self.P]
        self.t = 0

    def forward(self, X):
        h = np.maximum(X @ self.P[0] + self.P[1], 0.0)
        z = h @ self.P[2] + self.P[3]
        e = np.exp(z - z.max(1, keepdims=True))
        return h, e / e.sum(1, keepdims=True)

    def fit(self, X, T, epochs, lr=1e-3, batch=64):
        for _ in range(epochs):
            order = self.rng.permutation(len(X))
            for k in range(0, len(X), batch):
                i = order[k:k + batch]
                h, p = self.forward(X[i])
                dz = (p - T[i]) / len(i)
                dh = (dz @ self.P[2].T) * (h > 0)
                grads = [X[i].T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]
                self.t += 1
                for n, g in enumerate(grads):
                    self.m[n] = 0.9 * self.m[n] + 0.1 * g
                    self.v[n] = 0.999 * self.v[n] + 0.001 * g * g
                    self.P[n] -= lr * (self.m[n] / (1 - 0.9 ** self.t)) / (np.sqrt(self.v[n] / (1 - 0.999 ** self.t)) + 1e-8)

    def input_grad(self, X, target):
        """d CE(softmax(x), target) / d x."""
        h, p = self.forward(X)
        dz = p.copy()
        dz[np.arange(len(X)), target] -= 1.0
        return ((dz @ self.P[2].T) * (h > 0)) @ self.P[0].T


def run_es_attack(h, baton, s, data):
    """Yuan, Ding, Zhang, Shao, Chen & Zhu 2022 (ES Attack: Model Stealing against Deep Neural
    Networks without Data Hurdles, IEEE TETCI), data-free extraction, the OPT-SYN variant: the first
    ES_ROUND queries uniform noise in [0, 1]^64; then rounds of an E-step (the substitute, a
    _NumpyMLP, trained ES_EPOCHS epochs on every row asked so far against the victim's probabilities)
    and an S-step (ES_ROUND new samples, each from uniform noise, a random target class each,
    ES_SYN_STEPS Adam steps (lr ES_SYN_LR) on the substitute's cross-entropy for the target, clipped
    to [0, 1]), the new samples asked (scores), until EXTRACT_BUDGET queries. es-attack: a round one
    request. es-blend: ES_BLEND_ROWS synthetic rows a request shuffled among as many of the
    attacker's natural digits (s.mix), requests round-robin over its ES_BLEND_KEYS keys, idle turns
    U(ES_BLEND_IDLE) after each."""
    rng = s.rng
    sub = _NumpyMLP(rng)
    blend = s.cls == "es-blend"
    Xs = np.zeros((0, D))
    Ps = np.zeros((0, 10))
    new = rng.uniform(0.0, 1.0, (ES_ROUND, D))
    try:
        while True:
            n = min(len(new), EXTRACT_BUDGET - len(Xs))
            new = new[:n].astype(np.float32)
            chunk = ES_BLEND_ROWS if blend else ES_ROUND
            probs = []
            for k in range(0, n, chunk):
                probs.append(query(h, baton, s, new[k:k + chunk], scores=True)[1])
                if blend:
                    for _ in range(int(rng.integers(*ES_BLEND_IDLE))):
                        baton.pass_on(s)
            Xs = np.concatenate([Xs, new])
            Ps = np.concatenate([Ps, np.concatenate(probs)])
            if len(Xs) >= EXTRACT_BUDGET:
                break
            sub.fit(Xs, Ps, ES_EPOCHS)
            target = rng.integers(0, 10, ES_ROUND)
            x = rng.uniform(0.0, 1.0, (ES_ROUND, D))
            m, v = np.zeros_like(x), np.zeros_like(x)
            for t in range(1, ES_SYN_STEPS + 1):
                g = sub.input_grad(x, target)
                m = 0.9 * m + 0.1 * g
                v = 0.999 * v + 0.001 * g * g
                x = np.clip(x - ES_SYN_LR * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8), 0.0, 1.0)
            new = x
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def setup_heldout14_attack(s, data, interleave):
    """The unseen classes of held out 14 (HELDOUT14_ATTACKS). Evasion: the original is a row of the
    padding split (HELDOUT14_ORIG_PAD, offsets 48-56, disjoint from held out 10's to 13's), one per
    session by session index. Success, rows as sent: autozoom and biased-boundary (L2 attacks) the
    first answered query whose label differs from the true label at L2 <= 1.0 (L2_GOAL, as
    HopSkipJump's and SimBA's); locsearch (an L0 attack) the first answered query whose label
    differs with at most LS_L0 = 8 of the 64 values changed (as pointwise and cornersearch).
    es-attack and es-blend are extraction: surrogate agreement after 500 / 1,000 / 2,000 queries, as
    jbda and knockoff (es-blend's natural rows are not queries and not trained on)."""
    s.pace_rows = s.cls in ("es-attack", "es-blend", "locsearch")
    if s.cls == "es-blend":
        nat = np.concatenate([data.rows("knockoff")[0], data.rows("jbda_seed")[0]])
        order = []

        def mix(n):
            rows = []
            for _ in range(n):
                if not order:
                    order.extend(s.rng.permutation(len(nat)).tolist())
                rows.append(nat[order.pop()])
            return np.stack(rows).astype(np.float32)
        s.mix = mix
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT14_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls == "locsearch":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and int((np.abs(rows[j] - x0) > 1e-6).sum()) <= LS_L0), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)


def run_heldout14_attack(h, baton, s, data):
    if s.cls in ("es-attack", "es-blend"):
        run_es_attack(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=s.cls != "biased-boundary")
    try:
        if s.cls == "autozoom":
            adv = autozoom_attack(ask, x0, y0, s.rng)
        elif s.cls == "locsearch":
            adv = locsearch_attack(ask, x0, y0, s.rng)
        else:
            sub = attacker_surrogates(data, ((64,),), s.rng)[0]
            Xk, yk = data.rows("knockoff")
            order = s.rng.permutation(len(Xk))
            starts = [Xk[i] for i in order if int(yk[i]) != y0][:20]
            adv = biased_boundary_attack(ask, x0, y0, s.rng, starts, sub)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
        s.meta["final_l0"] = int((np.abs(adv - x0) > 1e-6).sum())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# Held out 15's unseen attack classes (HELDOUT15_ATTACKS), written from their papers (ART 1.20.1
# has none of them).
def sparse_evo_attack(ask, x0, y0, rng, starts):
    """Vo, Abbasnejad & Ranasinghe 2022 (Query efficient decision based sparse attacks against black-box
    deep learning models, ICLR), SparseEvo, untargeted, label-only, L0. Start: the first of the
    attacker's natural digits (`starts`, in order) the victim labels other than y0; a candidate is a
    binary mask m over the pixels where the start differs from x0 (1: the start's value, 0: x0's), its
    image where(m, start, x0), its fitness the image's L2 distance to x0 when adversarial, else infinite.
    Population (SE_POP): each member the start's mask with SE_NPIX random ones reset to 0 (fewer down
    to 1 until adversarial; the start's mask when none is). Then, one candidate a query: the best and
    two other members recombined (uniform crossover, rate SE_CR, ANDed with the best's mask), mutated
    (a share SE_MU of its ones, at least one, reset to 0), evaluated and kept in place of the worst
    member when fitter. One row a request. Stops when the best member changes at most SE_L0 values of
    x0, or at SE_BUDGET queries."""
    used = [0]

    def label(x):
        if used[0] + 1 > SE_BUDGET:
            raise _Budget
        used[0] += 1
        return int(ask(np.clip(x, 0, 1).astype(np.float32)[None])[0][0])
    xs, pop, fit = None, [], []
    try:
        for cand in starts:
            if label(cand) != y0:
                xs = np.asarray(cand, np.float32)
                break
        if xs is None:
            return x0
        idxs = np.flatnonzero(np.abs(xs - x0) > 0)
        if len(idxs) < 2:
            return xs
        p1 = np.zeros(D, bool)
        p1[idxs] = True

        def image(m):
            return np.where(m, xs, x0).astype(np.float32)

        def fitness(m):
            x = image(m)
            return float(np.linalg.norm(x - x0)) if label(x) != y0 else np.inf
        pop, fit = [], []
        for _ in range(SE_POP):
            n, got = min(SE_NPIX, len(idxs)), False
            while n >= 1:
                m = p1.copy()
                m[rng.choice(idxs, n, replace=False)] = False
                f = fitness(m)
                if f < np.inf:
                    pop.append(m)
                    fit.append(f)
                    got = True
                    break
                n -= 1
            if not got:
                pop.append(p1.copy())
                fit.append(float(np.linalg.norm(xs - x0)))
        fit = np.asarray(fit)
        while True:
            rank = np.argsort(fit, kind="stable")
            best, worst = int(rank[0]), int(rank[-1])
            if int(pop[best].sum()) <= SE_L0:
                break
            others = [i for i in range(SE_POP) if i != best]
            a, b = rng.choice(others, 2, replace=False)
            cross = rng.random(D) < SE_CR
            if not cross.any():
                cross[int(rng.integers(D))] = True
            child = np.where(cross, pop[a], pop[b]) & pop[best]
            ones = np.flatnonzero(child)
            if len(ones):
                child[rng.choice(ones, max(1, int(len(ones) * SE_MU)), replace=False)] = False
            f = fitness(child)
            if f < fit[worst]:
                pop[worst], fit[worst] = child, f
        return image(pop[int(np.argmin(fit))])
    except _Budget:
        if xs is None:
            return x0
        return np.where(pop[int(np.argmin(fit))], xs, x0).astype(np.float32) if len(pop) == len(fit) and len(pop) else xs


def _tangent_point(x0, o, R, u):
    """Ma, Guo, Chen et al. 2021's tangent point (L2): on the hemisphere of radius R about the boundary
    point o on the side of the unit normal u, the point whose tangent line passes through x0, in the
    plane spanned by u and x0 - o (the authors' closed form)."""
    ox = x0 - o
    n_ox = float(np.linalg.norm(ox))
    sin_a = -float(ox @ u) / n_ox
    cos_a = np.sqrt(max(0.0, 1 - sin_a ** 2))
    cos_b = min(1.0, R / n_ox)
    sin_b = np.sqrt(max(0.0, 1 - cos_b ** 2))
    sin_g = sin_b * cos_a - cos_b * sin_a
    cos_g = cos_b * cos_a + sin_b * sin_a
    num = ox - float(ox @ u) * u
    nn = float(np.linalg.norm(num))
    ok = (num / nn if nn > 1e-12 else num) * R * cos_g + R * sin_g * u
    return o + ok


def tangent_attack(ask, x0, y0, rng):
    """Ma, Guo, Chen, Cheng, Hu, Yu & Zhang 2021 (Finding optimal tangent points for reducing distortions
    of hard-label attacks, NeurIPS), the Tangent Attack (hemisphere), untargeted, L2, label-only, as the
    authors' code runs it on HopSkipJump's frame. Start: uniform noise until adversarial (one row a
    request), blended towards x0 by a binary search (to 0.001), then projected to the boundary (binary
    search to theta = gamma / d^1.5, gamma 1). Each iteration t: the boundary normal estimated from
    n_t = TA_INIT_EVALS sqrt(t) labels of x_b + delta u_k (u_k on the unit sphere; delta 0.1 at the
    first, then sqrt(d) theta times the last distance; HopSkipJump's baseline subtraction; the probes
    one request), then the tangent point of the hemisphere of radius R = dist / sqrt(t) about x_b
    (_tangent_point), R halved until the tangent point is adversarial (one row a request), then a
    binary search between x0 and it back to the boundary. Stops within L2_GOAL or at TA_BUDGET
    queries."""
    d = D
    theta = TA_GAMMA / (np.sqrt(d) * d)
    used = [0]

    def labels(rows):
        rows = np.clip(np.asarray(rows, np.float64), 0, 1).astype(np.float32).reshape(-1, D)
        if used[0] + len(rows) > TA_BUDGET:
            raise _Budget
        used[0] += len(rows)
        return ask(rows)[0]

    def adv(x):
        return int(labels(x[None])[0]) != y0

    def to_boundary(x):
        lo, hi = 0.0, 1.0
        while (hi - lo) / theta > 1:
            mid = (hi + lo) / 2
            if adv((1 - mid) * x0 + mid * x):
                hi = mid
            else:
                lo = mid
        return (1 - hi) * x0 + hi * x
    x = x0
    try:
        while True:
            noise = rng.uniform(0, 1, D)
            if adv(noise):
                break
        lo, hi = 0.0, 1.0
        while hi - lo > 0.001:
            mid = (hi + lo) / 2
            if adv((1 - mid) * x0 + mid * noise):
                hi = mid
            else:
                lo = mid
        start = (1 - hi) * x0 + hi * noise
        dist_post = float(np.linalg.norm(start - x0))
        x = to_boundary(start)
        dist = float(np.linalg.norm(x - x0))
        t = 0
        while dist > L2_GOAL:
            t += 1
            delta = 0.1 if t == 1 else np.sqrt(d) * theta * dist_post
            n = int(min(TA_INIT_EVALS * np.sqrt(t), TA_MAX_EVALS))
            rv = rng.normal(0, 1, (n, D))
            rv /= np.linalg.norm(rv, axis=1, keepdims=True)
            pert = np.clip(x + delta * rv, 0, 1)
            rv = (pert - x) / delta
            f = 2.0 * (labels(pert) != y0) - 1.0
            if f.mean() == 1.0:
                g = rv.mean(0)
            elif f.mean() == -1.0:
                g = -rv.mean(0)
            else:
                g = ((f - f.mean())[:, None] * rv).mean(0)
            g /= max(float(np.linalg.norm(g)), 1e-12)
            R = dist / np.sqrt(t)
            while True:
                k = np.clip(_tangent_point(x0, x, R, g), 0, 1)
                if adv(k):
                    break
                R /= 2.0
            dist_post = float(np.linalg.norm(k - x0))
            x = to_boundary(k)
            dist = float(np.linalg.norm(x - x0))
    except _Budget:
        pass
    return x


def _scratch_image(x0, p):
    """x0 with one scratch drawn: a rational quadratic Bezier curve from (x_a, y_a) through the control
    point (x_b, y_b) (weight w) to (x_c, y_c), 50 points, every pixel it passes set to the value v (the
    parameters p = x_a, y_a, x_b, y_b, x_c, y_c, w, v; pixel coordinates)."""
    xa, ya, xb, yb, xc, yc, w, v = p
    a = np.asarray(x0, np.float32).reshape(SIDE, SIDE).copy()
    for t in np.linspace(0, 1, 50):
        den = (1 - t) ** 2 + 2 * (1 - t) * t * w + t ** 2
        px = ((1 - t) ** 2 * xa + 2 * (1 - t) * t * w * xb + t ** 2 * xc) / den
        py = ((1 - t) ** 2 * ya + 2 * (1 - t) * t * w * yb + t ** 2 * yc) / den
        a[int(np.clip(py, 0, SIDE - 1)), int(np.clip(px, 0, SIDE - 1))] = v
    return a.reshape(D)


def scratch_attack(ask, x0, y0, rng):
    """Jere, Rossi, Hitaj, Ciocarlie, Boracchi & Koushanfar 2019 (Scratch that! An evolution-based
    adversarial attack against neural networks), the Bezier scratch, untargeted, score-based: one
    scratch (a rational quadratic Bezier curve drawn over the image at one intensity, _scratch_image)
    whose parameters differential evolution searches to minimise the victim's probability of y0 (as
    the authors' code runs scipy's differential_evolution: best1bin, mutation dithered in SCR_F per
    generation, recombination SCR_CR, a Latin-hypercube initial population, out-of-bounds values
    redrawn at random, deferred updating: a generation's trials one request). The start point anywhere
    on the 8x8 image, the control and end points within SCR_REACH px of it (on 8x8 digits a scratch
    across the whole image is a pen stroke), the weight in [0, SCR_W], the intensity in [0, 1];
    SCR_POP candidates. Stops at the first query whose label differs from y0 with at most SCR_L0
    values changed, or at SCR_BUDGET queries."""
    lo = np.array([0, 0, -SCR_REACH, -SCR_REACH, -SCR_REACH, -SCR_REACH, 0.0, 0.0])
    hi = np.array([SIDE, SIDE, SCR_REACH, SCR_REACH, SCR_REACH, SCR_REACH, SCR_W, 1.0])
    nd = len(lo)
    used = [0]

    def image(q):
        xa, ya = q[0], q[1]
        return _scratch_image(x0, (xa, ya, xa + q[2], ya + q[3], xa + q[4], ya + q[5], q[6], q[7]))

    def evaluate(Q):
        rows = np.stack([image(q) for q in Q])
        n = min(len(rows), SCR_BUDGET - used[0])
        if n <= 0:
            raise _Budget
        labels, probs = ask(rows[:n])
        used[0] += n
        for j in range(n):
            if labels[j] != y0 and int((np.abs(rows[j] - x0) > 1e-6).sum()) <= SCR_L0:
                return None, rows[j]
        if n < len(rows):
            raise _Budget
        return probs[:, y0].astype(np.float64), None
    # Latin hypercube: one sample in each of SCR_POP strata per parameter, the strata shuffled.
    U = (rng.random((SCR_POP, nd)) + np.stack([rng.permutation(SCR_POP) for _ in range(nd)], 1)) / SCR_POP
    pop = lo + U * (hi - lo)
    best_x = x0
    try:
        f, hit = evaluate(pop)
        if hit is not None:
            return hit
        while True:
            F = rng.uniform(*SCR_F)
            b = int(np.argmin(f))
            trials = []
            for i in range(SCR_POP):
                r1, r2 = rng.choice([j for j in range(SCR_POP) if j != i], 2, replace=False)
                mutant = pop[b] + F * (pop[r1] - pop[r2])
                cross = rng.random(nd) < SCR_CR
                cross[int(rng.integers(nd))] = True
                trial = np.where(cross, mutant, pop[i])
                bad = (trial < lo) | (trial > hi)
                trial[bad] = (lo + rng.random(nd) * (hi - lo))[bad]
                trials.append(trial)
            trials = np.stack(trials)
            ft, hit = evaluate(trials)
            if hit is not None:
                return hit
            keep = ft <= f
            pop[keep], f[keep] = trials[keep], ft[keep]
            best_x = image(pop[int(np.argmin(f))])
    except _Budget:
        pass
    return best_x


def run_cryptanalytic(h, baton, s, data):
    """Carlini, Jagielski & Mironov 2020 (Cryptanalytic extraction of neural network models, CRYPTO; the
    one-hidden-layer case, as in Jagielski et al. 2020's functionally-equivalent extraction, USENIX
    Security): the served model is a ReLU network, so its logits are piecewise linear in the input and
    bend where a hidden neuron switches (a critical point). The attacker asks for the probabilities
    and reads the centred log-probabilities (the logits less their mean). Each round a line between
    two random points of the input box (each coordinate uniform in [0, 1], a share U(0, CRYPTO_SPARSE) of
    them 0, as the box's faces where image inputs lie), CRYPTO_LINE evenly spaced points, one request;
    the line's linear pieces (runs of consecutive segments of one slope, lines fitted by least squares)
    and the single bends between them (the two pieces' lines meeting at t*, every sample between them
    on the left line before t* and on the right one after it, within CRYPTO_TOL); a gap that is not
    one bend sampled again (CRYPTO_REFINE points, one request, twice at most); a bend on a hyperplane
    already recovered (|w.x + b| < CRYPTO_KNOWN) is skipped; for each new bend the Jacobian of the two
    pieces about it (the piece's midpoint and its 64 coordinate steps of CRYPTO_EPS, one request of 65
    rows, once a piece), their difference a rank-one matrix whose top singular vector is the neuron's
    weight row (to scale and sign), its bias from the critical point. Stops after CRYPTO_STALL lines
    without a new neuron or at CRYPTO_BUDGET queries; then the second layer by least squares on every
    answer (features: ReLU of each recovered neuron, the 64 inputs, a constant: neurons that never
    switch on the box are linear there): a functionally equivalent model on the box, whose agreement
    the session records (own_model_<queries>) besides the learning substitute's on its queries (as the
    other extraction classes)."""
    rng = s.rng
    used = [0]
    X_all, L_all = [], []

    def ask(rows):
        rows = np.clip(np.asarray(rows, np.float64), 0, 1).astype(np.float32).reshape(-1, D)
        if used[0] + len(rows) > CRYPTO_BUDGET:
            raise _Budget
        used[0] += len(rows)
        _, p = query(h, baton, s, rows, scores=True)
        lp = np.log(np.maximum(p.astype(np.float64), 1e-45))
        L = lp - lp.mean(1, keepdims=True)
        X_all.append(rows.astype(np.float64))
        L_all.append(L)
        return L

    neurons = []                          # (unit w, b)

    def known(x):
        return any(abs(float(w @ x + b)) < CRYPTO_KNOWN for w, b in neurons)

    def jac(x):
        sg = np.where(x + CRYPTO_EPS <= 1.0, 1.0, -1.0)
        L = ask(np.vstack([x[None], x[None] + np.diag(sg * CRYPTO_EPS)]))
        return (L[1:] - L[0]) / (sg * CRYPTO_EPS)[:, None]

    def fit(ts, L):
        A = np.stack([ts, np.ones_like(ts)], 1)
        return np.linalg.lstsq(A, L, rcond=None)[0]          # rows: slope, intercept

    def bends(xa, xb, ts, L, depth):
        """(t*, t inside the left piece, t inside the right piece) for every single bend found on
        xa + t (xb - xa), sampled at ts with answers L."""
        slope = np.diff(L, axis=0) / np.diff(ts)[:, None]
        same = np.abs(slope[1:] - slope[:-1]).max(1) < CRYPTO_TOL / max(float(np.diff(ts).mean()), 1e-12) * 4
        runs, k = [], 0                    # runs of segments of one slope: (first, last) segment
        while k < len(slope):
            j = k
            while j < len(same) and same[j]:
                j += 1
            if j > k:
                runs.append((k, j))
            k = j + 1
        out = []
        for (a0, a1), (b0, b1) in zip(runs[:-1], runs[1:]):
            la, lb = fit(ts[a0:a1 + 2], L[a0:a1 + 2]), fit(ts[b0:b1 + 2], L[b0:b1 + 2])
            dS, dc = la[0] - lb[0], la[1] - lb[1]
            t_star = float(-(dc @ dS) / max(float(dS @ dS), 1e-18))
            ok = ts[a1] <= t_star <= ts[b0 + 1]
            if ok:
                for g in range(a1 + 1, b0 + 1):
                    pred = la[0] * ts[g] + la[1] if ts[g] <= t_star else lb[0] * ts[g] + lb[1]
                    if np.abs(pred - L[g]).max() > CRYPTO_TOL:
                        ok = False
                        break
            if ok:
                out.append((t_star, 0.5 * (ts[a0] + ts[a1 + 1]), 0.5 * (ts[b0] + ts[b1 + 1])))
            elif depth < 2:
                t2 = np.linspace(ts[a1], ts[b0 + 1], CRYPTO_REFINE)
                out.extend(bends(xa, xb, t2, ask(xa[None] + t2[:, None] * (xb - xa)[None]), depth + 1))
        return out
    stall = 0
    try:
        while stall < CRYPTO_STALL:
            ends = rng.uniform(0, 1, (2, D))
            ends[rng.random((2, D)) < rng.uniform(0, CRYPTO_SPARSE)] = 0.0
            xa, xb = ends
            ts = np.linspace(0, 1, CRYPTO_LINE)
            found = 0
            cache = {}
            for t_star, ta, tb in bends(xa, xb, ts, ask(xa[None] + ts[:, None] * (xb - xa)[None]), 0):
                xs = xa + t_star * (xb - xa)
                if known(xs):
                    continue
                for tm in (ta, tb):
                    if tm not in cache:
                        cache[tm] = jac(xa + tm * (xb - xa))
                U_, S_, _ = np.linalg.svd(cache[tb] - cache[ta], full_matrices=False)
                if S_[0] < 1e-6 or (len(S_) > 1 and S_[1] > CRYPTO_RANK * S_[0]):
                    continue
                w = U_[:, 0]
                neurons.append((w, -float(w @ xs)))
                found += 1
            stall = 0 if found else stall + 1
    except (_Budget, Refused) as e:
        if isinstance(e, Refused):
            s.meta["stopped_by"] = str(e)
    s.meta["neurons"] = len(neurons)
    s.meta["own_queries"] = used[0]
    if X_all:
        W = np.stack([w for w, _ in neurons], 1) if neurons else np.zeros((D, 0))
        B = np.array([b for _, b in neurons])

        def feats(X):
            X = np.asarray(X, np.float64)
            return np.hstack([np.maximum(X @ W + B, 0), X, np.ones((len(X), 1))])
        X, L = np.concatenate(X_all), np.concatenate(L_all)
        coef = np.linalg.lstsq(feats(X), L, rcond=None)[0]
        s.meta["own_model"] = lambda Xt: (feats(Xt) @ coef).argmax(1)


def run_cloudleak(h, baton, s, data):
    """Yu, Yang, Zhang, Tang, Ouyang, Xiao & Li 2020 (CloudLeak: large-scale deep learning models
    stealing through adversarial examples, NDSS), FeatureFool adversarial active learning: the
    attacker's unlabeled natural digits (its knockoff and jbda_seed splits); first CLOUDLEAK_SEED of them
    asked as they are; then rounds: a substitute (sklearn MLP, 64 ReLU) trained on the victim's labels of
    everything asked so far, and CLOUDLEAK_ROUND malicious examples, each from an unused source digit
    x_s and a guide digit x_t the substitute labels otherwise (a random other class): box-constrained
    L-BFGS on ||x' - x_s||^2 + CLOUDLEAK_ALPHA * max(||phi(x') - phi(x_t)||^2 - ||phi(x') - phi(x_s)||^2 + M, 0),
    phi the substitute's hidden layer, M CLOUDLEAK_MARGIN times ||phi(x_t) - phi(x_s)||^2 (a minimum-
    confidence example just past the boundary between the two), the examples asked (scores, as an
    MLaaS API answers), CLOUDLEAK_BATCH rows a request, until EXTRACT_BUDGET queries."""
    from scipy.optimize import minimize
    rng = s.rng
    nat = np.concatenate([data.rows("knockoff")[0], data.rows("jbda_seed")[0]]).astype(np.float64)
    order = list(rng.permutation(len(nat)))
    Xq, yq = [], []

    def ask(rows):
        rows = np.clip(np.asarray(rows), 0, 1).astype(np.float32)
        for k in range(0, len(rows), CLOUDLEAK_BATCH):
            lab, _ = query(h, baton, s, rows[k:k + CLOUDLEAK_BATCH], scores=True)
            Xq.append(rows[k:k + CLOUDLEAK_BATCH].astype(np.float64))
            yq.append(np.asarray(lab))

    def source():
        if not order:
            order.extend(rng.permutation(len(nat)).tolist())
        return nat[order.pop()]
    try:
        ask(np.stack([source() for _ in range(CLOUDLEAK_SEED)]))
        while sum(len(x) for x in Xq) < EXTRACT_BUDGET:
            X, y = np.concatenate(Xq), np.concatenate(yq)
            sub = MLPClassifier(hidden_layer_sizes=(64,), max_iter=300, random_state=int(rng.integers(2 ** 31))).fit(X, y)
            W1, b1 = sub.coefs_[0], sub.intercepts_[0]

            def phi(x):
                return np.maximum(x @ W1 + b1, 0.0)
            pool_lab = sub.predict(nat)
            n = min(CLOUDLEAK_ROUND, EXTRACT_BUDGET - len(X))
            new = []
            for _ in range(n):
                xs = source()
                ys = int(sub.predict(xs[None])[0])
                cands = np.flatnonzero(pool_lab != ys)
                xt = nat[int(rng.choice(cands))] if len(cands) else rng.uniform(0, 1, D)
                fs, ft = phi(xs), phi(xt)
                M = CLOUDLEAK_MARGIN * float(((ft - fs) ** 2).sum())

                def obj(x):
                    z = x @ W1 + b1
                    f = np.maximum(z, 0.0)
                    hinge = float(((f - ft) ** 2).sum() - ((f - fs) ** 2).sum() + M)
                    val = float(((x - xs) ** 2).sum())
                    grad = 2 * (x - xs)
                    if hinge > 0:
                        val += CLOUDLEAK_ALPHA * hinge
                        df = 2 * (f - ft) - 2 * (f - fs)
                        grad = grad + CLOUDLEAK_ALPHA * (W1 @ (df * (z > 0)))
                    return val, grad
                r = minimize(obj, xs.copy(), jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * D,
                             options={"maxiter": CLOUDLEAK_ITERS})
                new.append(r.x)
            ask(np.stack(new))
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def setup_heldout15_attack(s, data, interleave):
    """The unseen classes of held out 15 (HELDOUT15_ATTACKS). Evasion: the original is a row of the
    padding split (HELDOUT15_ORIG_PAD, offsets 57-65, disjoint from held out 10's to 14's), one per
    session by session index. Success, rows as sent: sparse-evo and scratch (L0 attacks) the first
    answered query whose label differs from the true label with at most 8 of the 64 values changed
    (SE_L0, SCR_L0: as pointwise, cornersearch and locsearch); tangent (an L2 attack) the first answered
    query whose label differs at L2 <= 1.0 (L2_GOAL, as HopSkipJump's). cryptanalytic and cloudleak are
    extraction: surrogate agreement after 500 / 1,000 / 2,000 queries, as jbda and knockoff
    (cryptanalytic also records its own functionally equivalent model's agreement)."""
    s.pace_rows = s.cls in ("cryptanalytic", "cloudleak", "tangent", "scratch")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT15_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls in ("sparse-evo", "scratch"):
        l0 = SE_L0 if s.cls == "sparse-evo" else SCR_L0
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and int((np.abs(rows[j] - x0) > 1e-6).sum()) <= l0), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)


def run_heldout15_attack(h, baton, s, data):
    if s.cls == "cryptanalytic":
        run_cryptanalytic(h, baton, s, data)
        return
    if s.cls == "cloudleak":
        run_cloudleak(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=s.cls == "scratch")
    try:
        if s.cls == "sparse-evo":
            Xk, yk = data.rows("knockoff")
            order = s.rng.permutation(len(Xk))
            starts = [Xk[i] for i in order if int(yk[i]) != y0][:20]
            adv = sparse_evo_attack(ask, x0, y0, s.rng, starts)
        elif s.cls == "tangent":
            adv = tangent_attack(ask, x0, y0, s.rng)
        else:
            adv = scratch_attack(ask, x0, y0, s.rng)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
        s.meta["final_l0"] = int((np.abs(adv - x0) > 1e-6).sum())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# Held out 16's unseen attack classes (HELDOUT16_ATTACKS), written from their papers (ART 1.20.1
# has none of them).
def _lowfreq_dct(rng, n, freq):
    """n random directions of the low-frequency DCT subspace: N(0, 1) coefficients in the top-left freq x
    freq block of the 8x8 DCT (the rest 0) through the orthonormal inverse DCT."""
    from scipy.fft import idctn
    C = np.zeros((n, SIDE, SIDE))
    C[:, :freq, :freq] = rng.normal(0.0, 1.0, (n, freq, freq))
    return idctn(C, axes=(1, 2), norm="ortho").reshape(n, D)


def cgba_attack(ask, x0, y0, rng):
    """Reza, Rahmati, Wu & Dai 2023 (CGBA: Curvature-aware geometric black-box attack, ICCV), the
    non-targeted CGBA, label-only, L2, as the authors' code runs it. Start: x0 itself, then x0 + k 0.02 n
    (n ~ N(0, I), k = 1, 2, ...) until adversarial, and a binary search between x0 and it (to L2
    CGBA_TOL between the two ends, 100 queries at most) to the boundary point x_b. Each iteration i: the
    boundary's normal at x_b from q = CGBA_N0 sqrt(i + 1) sign probes x_b + CGBA_SIGMA u (u random in the
    low-frequency subspace, _lowfreq_dct with CGBA_FREQ; CGBA_PROBE_BATCH rows a request as the authors'
    estimator batches them), eta = -mean(z u) (z = +1 where the label is still y0); then, on the circle
    with diameter x0 x_b in the plane of eta and v = (x_b - x0) / |x_b - x0|, the points x0 + zeta |x_b -
    x0| (v . zeta), zeta = (eta + m v) / |eta + m v|, m = sin(theta) cos(a_k) / sin(a_k) - cos(theta) (theta
    the angle of eta and v, a_k = pi / 2 (1 - 2^-k), k = 1, 2, ...) until one is not adversarial, and the
    semicircular boundary search between the two directions (bisecting the angle, the point on the same
    circle; to CGBA_TOL, 100 queries at most) to the next boundary point. One row a request outside the
    probes. Stops within L2_GOAL or at CGBA_BUDGET queries."""
    used = [0]
    x0 = np.asarray(x0, np.float64)

    def labels(rows):
        rows = np.asarray(rows, np.float64).reshape(-1, D).astype(np.float32)
        if used[0] + len(rows) > CGBA_BUDGET:
            raise _Budget
        used[0] += len(rows)
        return ask(rows)[0]

    def adv(x):
        return int(labels(x[None])[0]) != y0

    def bin_search(a):
        c, n = x0, 0
        while True:
            mid = np.clip((c + a) / 2.0, 0, 1)
            n += 1
            if adv(mid):
                a = mid
            else:
                c = mid
            if np.linalg.norm(a - c) < CGBA_TOL or n >= 100:
                return a

    def semicircle(xb, p):
        R = float(np.linalg.norm(xb - x0))
        v = (xb - x0) / R
        pc = p - x0
        clean_dir = pc / max(float(np.linalg.norm(pc)), 1e-12)
        adv_dir, a, c, n = v, xb, x0, 0
        while True:
            mid = adv_dir + clean_dir
            mid /= max(float(np.linalg.norm(mid)), 1e-12)
            xm = np.clip(x0 + mid * float(mid @ v) * R, 0, 1)
            n += 1
            if adv(xm):
                adv_dir, a = mid, xm
            else:
                clean_dir, c = mid, xm
            if np.linalg.norm(a - c) < CGBA_TOL or n > 100:
                return a
    xb = x0
    try:
        k, x = 1, x0
        while not adv(x):
            x = np.clip(x0 + k * 0.02 * rng.normal(0.0, 1.0, D), 0, 1)
            k += 1
        xb = bin_search(x)
        i = 0
        while np.linalg.norm(xb - x0) > L2_GOAL:
            q = int(CGBA_N0 * np.sqrt(i + 1))
            U = _lowfreq_dct(rng, q, CGBA_FREQ)
            probes = np.clip(xb[None] + CGBA_SIGMA * U, 0, 1)
            lab = np.concatenate([labels(probes[j:j + CGBA_PROBE_BATCH]) for j in range(0, q, CGBA_PROBE_BATCH)])
            z = np.where(lab == y0, 1.0, -1.0)
            eta = -(z[:, None] * U).mean(0)
            eta /= max(float(np.linalg.norm(eta)), 1e-12)
            R = float(np.linalg.norm(xb - x0))
            v = (xb - x0) / R
            theta = float(np.arccos(np.clip(eta @ v, -1.0, 1.0)))
            p = x0
            for kk in range(1, 101):
                ak = np.pi / 2 * (1 - 2.0 ** -kk)
                m = np.sin(theta) * np.cos(ak) / np.sin(ak) - np.cos(theta)
                zeta = eta + m * v
                zeta /= max(float(np.linalg.norm(zeta)), 1e-12)
                p = np.clip(x0 + zeta * R * float(v @ zeta), 0, 1)
                if not adv(p):
                    break
            if np.linalg.norm(p - x0) < 1e-12:
                p = np.clip(x0 + 1e-3 * (zeta if np.linalg.norm(zeta) > 0 else eta), 0, 1)
            xb = semicircle(xb, p)
            i += 1
    except _Budget:
        pass
    return xb.astype(np.float32)


def ppba_attack(ask, x0, y0, rng):
    """Li, Ji, Liu, Liu, Zhong, Deng & Tian 2020 (Projection & probability-driven black-box attack,
    CVPR), PPBA, untargeted, score-based, L2, as the authors' code runs it ("random" order): the sensing
    matrix A, PPBA_LOW basis images of the PPBA_FREQ x PPBA_FREQ lowest 2-D DCT frequencies (chosen at
    random, orthonormal; 16 of 25, the authors' share, 1,500 of 2,352); the perturbation z A, z kept in the L2 ball of L2_GOAL; the loss the CW margin
    (the true class's log-probability less the largest other's, floored at 0: the logits' margin, since
    log-probabilities are the logits less one constant). First the clean original (z = 0); then each
    query a step u in {-1, 0, +1}^PPBA_LOW, every coordinate drawn with probabilities proportional to
    effective / (effective + ineffective) counts of that move at that coordinate (all 1 at the start),
    z + PPBA_RHO u (projected), accepted when the margin drops (its moves counted effective, with
    momentum PPBA_MOM; else ineffective). One row a request; stops at the first misclassified query or
    at PPBA_BUDGET queries."""
    from scipy.fft import idctn
    A = np.zeros((PPBA_LOW, D))
    for n, k in enumerate(rng.choice(PPBA_FREQ * PPBA_FREQ, PPBA_LOW, replace=False)):
        C = np.zeros((SIDE, SIDE))
        C[k // PPBA_FREQ, k % PPBA_FREQ] = 1.0
        A[n] = idctn(C, norm="ortho").reshape(D)
    used = [0]
    x0 = np.asarray(x0, np.float64)

    def loss(z):
        if used[0] >= PPBA_BUDGET:
            raise _Budget
        used[0] += 1
        x = np.clip(x0 + z @ A, 0, 1).astype(np.float32)
        labels, probs = ask(x[None])
        lp = np.log(np.maximum(probs[0].astype(np.float64), 1e-45))
        return max(float(lp[y0] - np.delete(lp, y0).max()), 0.0), int(labels[0]) != y0, x
    z = np.zeros(PPBA_LOW)
    try:
        f, hit, x = loss(z)
        if hit:
            return x
        eff = [np.ones(PPBA_LOW) for _ in range(3)]
        ineff = [np.ones(PPBA_LOW) for _ in range(3)]
        while True:
            pe = [e / (e + i) for e, i in zip(eff, ineff)]
            tot = pe[0] + pe[1] + pe[2]
            r = rng.random(PPBA_LOW)
            u = np.zeros(PPBA_LOW)
            u[r < pe[0] / tot] = -1.0
            u[r >= (pe[0] + pe[1]) / tot] = 1.0
            uz = z + PPBA_RHO * u
            nz = float(np.linalg.norm(uz))
            if nz > L2_GOAL:
                uz *= L2_GOAL / nz
            fu, hit, x = loss(uz)
            if hit:
                return x
            if fu < f:
                for j, mv in enumerate((-1.0, 0.0, 1.0)):
                    eff[j] = eff[j] * PPBA_MOM + (u == mv)
                z, f = uz, fu
            else:
                for j, mv in enumerate((-1.0, 0.0, 1.0)):
                    ineff[j] = ineff[j] * PPBA_MOM + (u == mv)
    except _Budget:
        pass
    return np.clip(x0 + z @ A, 0, 1).astype(np.float32)


def _perlin_fn(rng):
    """Ken Perlin's gradient noise on the plane: a permutation table of 256 and 256 random unit gradients
    (fixed once), the quintic fade, bilinear blending of the four corners' gradient ramps."""
    perm = rng.permutation(256)
    ang = rng.uniform(0.0, 2 * np.pi, 256)
    G = np.stack([np.cos(ang), np.sin(ang)], -1)

    def fade(t):
        return t * t * t * (t * (t * 6 - 15) + 10)

    def noise(X, Y):
        xi, yi = np.floor(X).astype(int), np.floor(Y).astype(int)
        fx, fy = X - xi, Y - yi

        def ramp(dx, dy):
            g = G[perm[(perm[(xi + dx) % 256] + yi + dy) % 256]]
            return g[..., 0] * (fx - dx) + g[..., 1] * (fy - dy)
        a, b = fade(fx), fade(fy)
        return (1 - b) * ((1 - a) * ramp(0, 0) + a * ramp(1, 0)) + b * ((1 - a) * ramp(0, 1) + a * ramp(1, 1))
    return noise


def perlin_attack(ask, x0, y0, rng):
    """Co, Munoz-Gonzalez, de Maupeou & Lupu 2019 (Procedural noise adversarial examples for black-box
    attacks on deep convolutional networks, ACM CCS), the Perlin-noise attack, untargeted, score-based,
    L-inf PN_EPS: the perturbation PN_EPS sin(2 pi phi N(x, y)) (the sine colour map), N(x, y) = sum over
    octaves n = 1 .. Omega of P(2^(n-1) x / lambda, 2^(n-1) y / lambda) (P Perlin noise, _perlin_fn;
    x, y pixel centres), three parameters: the period lambda in PN_PERIOD, the octaves Omega in PN_OCTAVES
    and the sine frequency phi in PN_FREQ; searched by Bayesian optimisation as the paper does: a GP
    (Matern 5/2, its hyper-parameters refitted every PN_REFIT queries) on the victim's probability of the
    true class over the parameters (scaled to the unit cube), PN_INIT uniform random parameter sets,
    then each query the maximiser of expected improvement over PN_CANDS uniform candidates. One row a
    request; stops at the first misclassified query or at PN_BUDGET queries."""
    from scipy.stats import norm
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
    noise = _perlin_fn(rng)
    Y, X = np.meshgrid(np.arange(SIDE) + 0.5, np.arange(SIDE) + 0.5, indexing="ij")
    x0 = np.asarray(x0, np.float64)

    def img(u):
        lam = PN_PERIOD[0] * (PN_PERIOD[1] / PN_PERIOD[0]) ** u[0]
        octv = int(np.clip(np.floor(PN_OCTAVES[0] + u[1] * (PN_OCTAVES[1] - PN_OCTAVES[0] + 1)), *PN_OCTAVES))
        phi = PN_FREQ[0] + u[2] * (PN_FREQ[1] - PN_FREQ[0])
        N = sum(noise(X * 2 ** n / lam, Y * 2 ** n / lam) for n in range(octv))
        return np.clip(x0 + PN_EPS * np.sin(2 * np.pi * phi * N).reshape(D), 0, 1).astype(np.float32)
    U, F = [], []

    def ev(u):
        x = img(u)
        labels, probs = ask(x[None])
        U.append(u)
        F.append(float(probs[0, y0]))
        return int(labels[0]) != y0, x
    best = img(np.full(3, 0.5))
    for _ in range(PN_INIT):
        hit, x = ev(rng.random(3))
        if hit:
            return x
    kernel = ConstantKernel(1.0) * Matern(length_scale=0.3, nu=2.5) + WhiteKernel(1e-4)
    while len(U) < PN_BUDGET:
        refit = len(U) % PN_REFIT == 0 or len(U) == PN_INIT
        gp = GaussianProcessRegressor(kernel, normalize_y=True, optimizer="fmin_l_bfgs_b" if refit else None,
                                      random_state=int(rng.integers(2**31))).fit(np.array(U), np.array(F))
        kernel = gp.kernel_
        C = rng.random((PN_CANDS, 3))
        mu, sd = gp.predict(C, return_std=True)
        sd = np.maximum(sd, 1e-9)
        imp = min(F) - mu
        ei = imp * norm.cdf(imp / sd) + sd * norm.pdf(imp / sd)
        hit, x = ev(C[int(np.argmax(ei))])
        if hit:
            return x
        best = img(U[int(np.argmin(F))])
    return best


class _Dense:
    """A small dense network with Adam (held out 16's generator-based extraction classes): layers of
    the given sizes (He initialisation), each followed by its activation ("relu", "lrelu" (0.2),
    "sigmoid" or None); forward keeps what backward needs; backward returns the parameters' gradients
    and the input's."""

    def __init__(self, rng, sizes, acts, lr):
        self.P = []
        for i, o in zip(sizes[:-1], sizes[1:]):
            self.P += [rng.normal(0.0, np.sqrt(2.0 / i), (i, o)), np.zeros(o)]
        self.acts, self.lr, self.t = acts, lr, 0
        self.m = [np.zeros_like(p) for p in self.P]
        self.v = [np.zeros_like(p) for p in self.P]

    def forward(self, X):
        cache, a = [], np.asarray(X, np.float64)
        for k, act in enumerate(self.acts):
            z = a @ self.P[2 * k] + self.P[2 * k + 1]
            cache.append((a, z))
            a = np.maximum(z, 0.0) if act == "relu" else np.where(z > 0, z, 0.2 * z) if act == "lrelu" \
                else 1.0 / (1.0 + np.exp(-z)) if act == "sigmoid" else z
        return a, cache

    def backward(self, cache, g):
        grads = [None] * len(self.P)
        for k in reversed(range(len(self.acts))):
            a, z = cache[k]
            act = self.acts[k]
            if act == "relu":
                g = g * (z > 0)
            elif act == "lrelu":
                g = g * np.where(z > 0, 1.0, 0.2)
            elif act == "sigmoid":
                sg = 1.0 / (1.0 + np.exp(-z))
                g = g * sg * (1 - sg)
            grads[2 * k], grads[2 * k + 1] = a.T @ g, g.sum(0)
            g = g @ self.P[2 * k].T
        return grads, g

    def step(self, grads):
        self.t += 1
        for n, g in enumerate(grads):
            self.m[n] = 0.9 * self.m[n] + 0.1 * g
            self.v[n] = 0.999 * self.v[n] + 0.001 * g * g
            self.P[n] -= self.lr * (self.m[n] / (1 - 0.9 ** self.t)) / (np.sqrt(self.v[n] / (1 - 0.999 ** self.t)) + 1e-8)


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _ce_fit(net, X, y, epochs, rng, batch=64):
    """Cross-entropy training of a classifier _Dense on hard labels."""
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for k in range(0, len(X), batch):
            i = order[k:k + batch]
            out, cache = net.forward(X[i])
            g = _softmax(out)
            g[np.arange(len(i)), y[i]] -= 1.0
            net.step(net.backward(cache, g / len(i))[0])


def run_dast(h, baton, s, data):
    """Zhou, Wu, Liu, Liu & Zhu 2020 (DaST: Data-free substitute training for adversarial attacks, CVPR),
    the label-only setting (DaST-L), scaled to a 64-feature input: no data; a label-controllable generator
    (a shared layer, z ~ N(0, I) of DAST_NZ -> 64 ReLU, then one branch a class, 64 -> 64 sigmoid: the
    paper's multi-branch architecture) and the substitute D (64 -> 64 ReLU -> 10). Each iteration
    DAST_PER_CLASS images from every branch (one request, labels only: the victim's labels T), D trained
    DAST_D_STEPS Adam steps on them (cross-entropy against T), then one generator step on L_G = exp(-d) +
    DAST_BETA L_c, d D's cross-entropy against T (its disagreement with the victim, which the generator
    raises; its gradient through D, the victim giving none) and L_c D's cross-entropy against each
    image's branch label (the label-control loss). Until EXTRACT_BUDGET queries; the session records D's
    own agreement (own_model_<queries>) besides the learning substitute's on its queries."""
    rng = s.rng
    trunk = _Dense(rng, [DAST_NZ, 64], ["relu"], DAST_LR)
    branches = [_Dense(rng, [64, D], ["sigmoid"], DAST_LR) for _ in range(10)]
    sub = _Dense(rng, [D, 64, 10], ["relu", None], DAST_LR)
    n = np.repeat(np.arange(10), DAST_PER_CLASS)
    used = 0
    try:
        while used + len(n) <= EXTRACT_BUDGET:
            zz = rng.normal(0.0, 1.0, (len(n), DAST_NZ))
            hh, tc = trunk.forward(zz)
            outs = [branches[c].forward(hh[n == c]) for c in range(10)]
            x = np.concatenate([o for o, _ in outs])
            T, _ = query(h, baton, s, x.astype(np.float32), scores=False)
            used += len(x)
            for _ in range(DAST_D_STEPS):
                out, cache = sub.forward(x)
                g = _softmax(out)
                g[np.arange(len(x)), T] -= 1.0
                sub.step(sub.backward(cache, g / len(x))[0])
            out, cache = sub.forward(x)
            p = _softmax(out)
            d = float(-np.log(np.maximum(p[np.arange(len(x)), T], 1e-12)).mean())
            gT, gn = p.copy(), p.copy()
            gT[np.arange(len(x)), T] -= 1.0
            gn[np.arange(len(x)), n] -= 1.0
            _, gx = sub.backward(cache, (-np.exp(-d) * gT + DAST_BETA * gn) / len(x))
            gh = np.zeros_like(hh)
            at = 0
            for c in range(10):
                k = int((n == c).sum())
                gb, gin = branches[c].backward(outs[c][1], gx[at:at + k])
                branches[c].step(gb)
                gh[n == c] = gin
                at += k
            trunk.step(trunk.backward(tc, gh)[0])
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = used
    s.meta["own_model"] = lambda Xt: sub.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def run_dfms(h, baton, s, data):
    """Sanyal, Addepalli & Babu 2022 (Towards data-free model stealing in a hard label setting, CVPR),
    DFMS-HL, scaled to a 64-feature input: the attacker has no digit, only proxy data of other classes
    (DFMS_PROXY capital letters it renders itself, pen_glyph); a GAN (generator z ~ N(0, I) of DFMS_NZ ->
    64 ReLU -> 64 sigmoid; discriminator 64 -> 64 leaky ReLU -> 1) first trained DFMS_PRETRAIN steps on
    the proxy data alone (no query); then each iteration DFMS_BATCH generated images asked (one request,
    labels only), the clone (64 -> 64 ReLU -> 10) trained DFMS_C_EPOCHS epochs on every image asked so far
    against the victim's labels, one discriminator step (proxy real, generated fake) and one generator
    step on the non-saturating GAN loss plus DFMS_DIV times the class-diversity loss (sum_c m_c log m_c,
    m the clone's mean softmax over the batch: the generator pushed to images the clone spreads over
    all classes). Until EXTRACT_BUDGET queries; the session records the clone's agreement
    (own_model_<queries>) besides the learning substitute's on its queries."""
    rng = s.rng
    proxy = np.stack([pen_glyph(LETTERS["ABCDEFGHIJKLMNOPQRSTUVWXYZ"[int(rng.integers(26))]], rng, (2.0, 4.0), 10,
                                (0.6, 0.85), 0.2, 0.08, 0.01) for _ in range(DFMS_PROXY)]).astype(np.float64)
    G = _Dense(rng, [DFMS_NZ, 64, D], ["relu", "sigmoid"], DFMS_LR)
    Dis = _Dense(rng, [D, 64, 1], ["lrelu", None], DFMS_LR)
    C = _Dense(rng, [D, 64, 10], ["relu", None], DFMS_LR)

    def sig(z):
        return 1.0 / (1.0 + np.exp(-z))

    def d_step(fake):
        real = proxy[rng.integers(len(proxy), size=len(fake))]
        for X, lab in ((real, 1.0), (fake, 0.0)):
            out, cache = Dis.forward(X)
            Dis.step(Dis.backward(cache, (sig(out) - lab) / len(X))[0])

    def g_step(div):
        z = rng.normal(0.0, 1.0, (DFMS_BATCH, DFMS_NZ))
        x, gc = G.forward(z)
        out, dc = Dis.forward(x)
        _, gx = Dis.backward(dc, (sig(out) - 1.0) / len(x))      # -log D(G(z))
        if div:
            lo, cc = C.forward(x)
            p = _softmax(lo)
            mbar = p.mean(0)
            gp = (np.log(np.maximum(mbar, 1e-12)) + 1.0)[None, :] / len(x)
            glo = p * (gp - (gp * p).sum(1, keepdims=True))
            gx = gx + DFMS_DIV * C.backward(cc, glo)[1]
        G.step(G.backward(gc, gx)[0])
    for _ in range(DFMS_PRETRAIN):
        d_step(G.forward(rng.normal(0.0, 1.0, (64, DFMS_NZ)))[0])
        g_step(False)
    Xq, yq = [], []
    try:
        while sum(len(v) for v in Xq) + DFMS_BATCH <= EXTRACT_BUDGET:
            x, _ = G.forward(rng.normal(0.0, 1.0, (DFMS_BATCH, DFMS_NZ)))
            lab, _ = query(h, baton, s, x.astype(np.float32), scores=False)
            Xq.append(x)
            yq.append(np.asarray(lab))
            _ce_fit(C, np.concatenate(Xq), np.concatenate(yq), DFMS_C_EPOCHS, rng)
            d_step(x)
            g_step(True)
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = int(sum(len(v) for v in Xq))
    s.meta["own_model"] = lambda Xt: C.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def setup_heldout16_attack(s, data, interleave):
    """The unseen classes of held out 16 (HELDOUT16_ATTACKS). Evasion: the original is a row of the
    padding split (HELDOUT16_ORIG_PAD, offsets 66-74, disjoint from held out 10's to 15's), one per
    session by session index. Success, rows as sent: cgba and ppba (L2 attacks) the first answered query
    whose label differs from the true label at L2 <= 1.0 (L2_GOAL, as HopSkipJump's); perlin (an L-inf
    attack) the first answered query whose label differs within L-inf PN_EPS (0.2, held out 4's wide Square radius). dast and
    dfms are extraction: surrogate agreement after 500 / 1,000 / 2,000 queries, as jbda and knockoff
    (both also record their own substitute's agreement)."""
    s.pace_rows = s.cls in ("cgba", "dast", "dfms")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT16_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls == "perlin":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels)) if labels[j] != y0 and np.abs(rows[j] - x0).max() <= PN_EPS + 1e-6), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)


def run_heldout16_attack(h, baton, s, data):
    if s.cls == "dast":
        run_dast(h, baton, s, data)
        return
    if s.cls == "dfms":
        run_dfms(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=s.cls in ("ppba", "perlin"))
    try:
        if s.cls == "cgba":
            adv = cgba_attack(ask, x0, y0, s.rng)
        elif s.cls == "ppba":
            adv = ppba_attack(ask, x0, y0, s.rng)
        else:
            adv = perlin_attack(ask, x0, y0, s.rng)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# Held out 17's unseen attack classes (HELDOUT17_ATTACKS), written from their papers and the authors' code
# (ART 1.20.1 has none of them).
def aha_attack(ask, x0, y0, rng, starts):
    """Li, Ji, Chen, Zhang, Hong, Zhang, Li, Li, Huang & Wu 2021 (Aha! Adaptive history-driven attack for
    decision-based black-box models, ICCV), untargeted (the paper's dodging setting; the released code's
    adversarial criterion is the target image's label), L2, label-only, as the authors' code
    (attack_batch.py) runs it otherwise. Start: the attacker's own natural digits (`starts`, in the session's order)
    asked one a request until one is labelled otherwise, then the bisection of the segment between it and
    x0 to the boundary (until the two ends differ by at most AHA_TOL in every value). Each step: eta =
    N(0, I) on an AHA_DIM x AHA_DIM grid times |x0 - x_adv| (resized to the grid, nearest) plus the bias;
    the candidate x_adv + alpha (x0 - x_adv) + beta |x0 - x_adv| eta' / |eta'| (eta' eta resized to 8x8,
    nearest), clipped, one row a request; kept if adversarial; bias = (1 - m) bias + m eta (+1 on success,
    -1 on failure); every AHA_WINDOW steps alpha x (mean ratio of actual to expected progress + 0.8)^2.
    The authors' grid is a quarter of the side (56 of 224); on 8x8 that is 2x2, here half the side (4x4).
    Stops within L2_GOAL or at AHA_BUDGET queries."""
    used = [0]
    k = SIDE // AHA_DIM

    def adv(x):
        if used[0] + 1 > AHA_BUDGET:
            raise _Budget
        used[0] += 1
        return int(ask(np.clip(x, 0, 1).astype(np.float32)[None])[0][0]) != y0

    def down(a):
        return a.reshape(AHA_DIM, k, AHA_DIM, k)[:, 0, :, 0]     # nearest, as F.interpolate's default

    def up(a):
        return np.repeat(np.repeat(a, k, 0), k, 1).reshape(D)
    x = x0
    try:
        for cand in starts:
            if adv(cand):
                x = np.asarray(cand, np.float64)
                break
        else:
            return x0
        hi, lo = x.copy(), np.asarray(x0, np.float64).copy()
        while np.abs(hi - lo).max() > AHA_TOL:
            mid = (hi + lo) / 2
            if adv(mid):
                hi = mid
            else:
                lo = mid
        x = hi
        bias = np.zeros((AHA_DIM, AHA_DIM))
        alpha, muls = AHA_ALPHA, []
        while np.linalg.norm(x - x0) > L2_GOAL:
            to0 = x0 - x
            od = float(np.linalg.norm(to0))
            eta = rng.normal(0, 1, (AHA_DIM, AHA_DIM)) * down(np.abs(to0).reshape(SIDE, SIDE)) + bias
            e = up(eta)
            en = max(float(np.linalg.norm(e)), 1e-12)
            new = np.clip(x + alpha * to0 + AHA_BETA * od * e / en, 0, 1)
            ok = adv(new)
            if ok:
                x = new
            bias = (1 - AHA_M) * bias + AHA_M * eta * (1.0 if ok else -1.0)
            expect = abs(alpha * od + AHA_BETA / en * float(e @ to0))
            actual = abs(od - float(np.linalg.norm(x0 - x)))
            muls.append(min(expect, actual) / (max(expect, actual) + 1e-12))
            if len(muls) == AHA_WINDOW:
                alpha *= (np.mean(muls) + 0.8) ** 2
                muls = []
                if alpha < 1e-9:
                    alpha = AHA_ALPHA
    except _Budget:
        pass
    return x


def rambo_attack(ask, x0, y0, rng, phases=None):
    """Vo, Abbasnejad & Ranasinghe 2022 (RamBoAttack: a robust query efficient deep neural network decision
    exploit, NDSS), RamBo(HSJA), untargeted, L2, label-only, as the authors' code (main_rb.py, HSJA_rb.py,
    ramboattack.py, SignOPT_rb.py) runs it, with its CIFAR-10 settings and the termination windows scaled to
    a budget of RB_BUDGET queries:
      1. HopSkipJump (blended uniform-noise start to 0.001, binary searches to theta = gamma / d^1.5, the
         boundary normal from RB_INIT_EVALS sqrt(j + 1) sign probes, one request, a geometric step search);
         it ends when, over the last RB_HSJA_LEN gradient probes, the distance fell by less than
         RB_HSJA_DELTA (or after RB_HSJA_ITERS iterations);
      2. BlockDescent: eps the largest |x_adv - x0|; over the pixels in random order, the 3x3 block about
         each (w 1, one block a candidate) moved towards x0 by eps (clipped), asked only when that brings
         x_adv nearer x0, kept while adversarial; after a pass eps / RB_BLOCK_LAMBDA; it ends when the mean
         distance over a window of RB_BLOCK_LEN queries fell by less than RB_BLOCK_DELTA, or after three
         passes without a query;
      3. Sign-OPT (Cheng, Singh, Chen, Chen, Liu & Hsieh 2020, ICLR): the direction theta = (x_adv - x0) /
         |x_adv - x0|, its boundary distance g by a local fine-grained binary search (to beta / 500), each
         iteration the sign gradient from RB_SOPT_K probes at x0 + g (theta + beta u) (one row each), a line
         search doubling then quartering alpha, beta / 10 when alpha < 1e-4;
    every query but the gradient probes one row a request, rows clipped to [0, 1]. It spends its budget
    (the authors' evaluation tracks the distortion over the whole budget). `phases` (a dict) gets the
    queries used when HopSkipJump and BlockDescent ended."""
    phases = {} if phases is None else phases
    d = D
    theta_bs = RB_GAMMA / (np.sqrt(d) * d)
    used = [0]
    best = [None]

    def labels(rows):
        rows = np.clip(np.asarray(rows, np.float64), 0, 1).astype(np.float32).reshape(-1, D)
        if used[0] + len(rows) > RB_BUDGET:
            raise _Budget
        used[0] += len(rows)
        return ask(rows)[0]

    def adv(x):
        ok = int(labels(x[None])[0]) != y0
        if ok:
            xc = np.clip(x, 0, 1)
            if best[0] is None or np.linalg.norm(xc - x0) < np.linalg.norm(best[0] - x0):
                best[0] = xc
        return ok

    def to_boundary(x):
        lo, hi = 0.0, 1.0
        while (hi - lo) / theta_bs > 1:
            mid = (hi + lo) / 2
            if adv((1 - mid) * x0 + mid * x):
                hi = mid
            else:
                lo = mid
        return (1 - hi) * x0 + hi * x
    try:
        # 1. HopSkipJump
        while True:
            noise = rng.uniform(0, 1, D)
            if adv(noise):
                break
        lo, hi = 0.0, 1.0
        while hi - lo > 0.001:
            mid = (hi + lo) / 2
            if adv((1 - mid) * x0 + mid * noise):
                hi = mid
            else:
                lo = mid
        start = (1 - hi) * x0 + hi * noise
        dist_post = float(np.linalg.norm(start - x0))
        x = to_boundary(start)
        dist = float(np.linalg.norm(x - x0))
        DL, accu = 1000.0, 0
        for j in range(RB_HSJA_ITERS + 1):
            delta = 0.1 if j == 1 else np.sqrt(d) * theta_bs * dist_post
            n = int(min(RB_INIT_EVALS * np.sqrt(j + 1), RB_MAX_EVALS))
            rv = rng.normal(0, 1, (n, D))
            rv /= np.linalg.norm(rv, axis=1, keepdims=True)
            pert = np.clip(x + delta * rv, 0, 1)
            rv = (pert - x) / delta
            f = 2.0 * (labels(pert) != y0) - 1.0
            if f.mean() == 1.0:
                g = rv.mean(0)
            elif f.mean() == -1.0:
                g = -rv.mean(0)
            else:
                g = ((f - f.mean())[:, None] * rv).mean(0)
            g /= max(float(np.linalg.norm(g)), 1e-12)
            eps = dist / np.sqrt(j + 1)
            while not adv(np.clip(x + eps * g, 0, 1)):
                eps /= 2.0
            new = np.clip(x + eps * g, 0, 1)
            dist_post = float(np.linalg.norm(new - x0))
            x = to_boundary(new)
            dist = float(np.linalg.norm(x - x0))
            accu += n
            if accu > RB_HSJA_LEN:
                if DL - dist < RB_HSJA_DELTA:
                    break
                DL, accu = dist, 0
        # 2. BlockDescent
        phases["hsja_end"] = used[0]
        xa = best[0].astype(np.float64)
        eps = float(np.abs(xa - x0).max())
        X0 = x0.reshape(SIDE, SIDE)
        window, DLb, nq, stale, last_nq = [], np.inf, 0, 0, -1
        done_bd = False
        while not done_bd:
            for p in rng.permutation(D):
                r, c = divmod(int(p), SIDE)
                r0, r1 = max(r - RB_BLOCK_W, 0), min(r + RB_BLOCK_W + 1, SIDE)
                c0, c1 = max(c - RB_BLOCK_W, 0), min(c + RB_BLOCK_W + 1, SIDE)
                A = xa.reshape(SIDE, SIDE).copy()
                A[r0:r1, c0:c1] = np.clip(A[r0:r1, c0:c1] + eps * np.sign(X0[r0:r1, c0:c1] - A[r0:r1, c0:c1]), 0, 1)
                cand = A.reshape(D)
                if np.linalg.norm(cand - x0) < np.linalg.norm(xa - x0):
                    nq += 1
                    if adv(cand):
                        xa = cand
                    window.append(float(np.linalg.norm(xa - x0)))
                    if nq % RB_BLOCK_LEN == 0:
                        DR = float(np.mean(window[-RB_BLOCK_LEN:]))
                        if DLb - DR < RB_BLOCK_DELTA:
                            done_bd = True
                            break
                        DLb = DR
            eps /= RB_BLOCK_LAMBDA
            if nq == last_nq:
                stale += 1
                if stale >= 3:
                    break
            else:
                stale, last_nq = 0, nq
        # 3. Sign-OPT
        phases["blockdescent_end"] = used[0]
        theta = xa - x0
        g2 = float(np.linalg.norm(theta))
        theta /= g2
        alpha, beta = RB_SOPT_ALPHA, RB_SOPT_BETA

        def local_search(th, lbd, tol):
            if not adv(x0 + lbd * th):
                lbd_lo, lbd_hi = lbd, lbd * 1.01
                while not adv(x0 + lbd_hi * th):
                    lbd_hi *= 1.01
                    if lbd_hi > 20:
                        return np.inf
            else:
                lbd_hi, lbd_lo = lbd, lbd * 0.99
                while adv(x0 + lbd_lo * th):
                    lbd_lo *= 0.99
            while lbd_hi - lbd_lo > tol:
                mid = (lbd_lo + lbd_hi) / 2.0
                if adv(x0 + mid * th):
                    lbd_hi = mid
                else:
                    lbd_lo = mid
            return lbd_hi
        g2 = local_search(theta, g2, beta / 500)
        while True:
            grad = np.zeros(D)
            for _ in range(RB_SOPT_K):
                u = rng.normal(0, 1, D)
                u /= np.linalg.norm(u)
                nt = theta + beta * u
                nt /= np.linalg.norm(nt)
                grad += (1.0 if not adv(x0 + g2 * nt) else -1.0) * u
            grad /= RB_SOPT_K
            min_t, min_g = theta, g2
            for _ in range(15):
                nt = theta - alpha * grad
                nt /= np.linalg.norm(nt)
                ng = local_search(nt, min_g, beta / 500)
                alpha *= 2
                if ng < min_g:
                    min_t, min_g = nt, ng
                else:
                    break
            if min_g >= g2:
                for _ in range(15):
                    alpha *= 0.25
                    nt = theta - alpha * grad
                    nt /= np.linalg.norm(nt)
                    ng = local_search(nt, g2, beta / 500)
                    if ng < g2:
                        min_t, min_g = nt, ng
                        break
            if alpha < 1e-4:
                alpha, beta = 1.0, beta * 0.1
                if beta < 1e-8:
                    break
            theta, g2 = min_t, min_g
    except _Budget:
        pass
    return best[0] if best[0] is not None else x0


def bases_attack(ask, x0, y0, rng, subs):
    """Cai, Song, Krishnamurthy, Roy-Chowdhury & Asif 2022 (Blackbox attacks via surrogate ensemble search,
    NeurIPS), BASES, L-inf BASES_EPS, score-based, as the authors' code (query_w_bb.py) runs it by default:
    targeted, the target a class other than y0 drawn for the session (their per-image target labels); the
    perturbation of an ensemble of local models (subs, MLPs of BASES_SIZES the attacker trained on its own
    labelled digits) weighted by w (equal to start): BASES_ITERS steps of PGD (step BASES_X eps / iters, the
    sign of the gradient of the weighted sum of the models' targeted CW losses, max_{j != t} z_j - z_t,
    projected onto the ball and [0, 1]), warm-started from the last accepted perturbation; each candidate one
    query (one row a request, scores: the victim's targeted CW loss on log-probabilities); then the weights
    searched one surrogate at a time, round robin: w_i + lr asked, then w_i - lr, the one with the lower
    victim loss kept, lr halved when a round ends on the surrogate it started with; stops when the victim
    answers the target, at most BASES_BUDGET queries. (The harness's success is the untargeted one, their
    code's "pretend" count: any answer other than y0.)"""
    n = len(subs)
    t = int((y0 + rng.integers(1, 10)) % 10)

    def adv_for(w, init):
        x = np.asarray(x0 if init is None else init, np.float64).copy()
        step = BASES_X * BASES_EPS / BASES_ITERS
        for _ in range(BASES_ITERS):
            g = np.zeros(D)
            for wi, m in zip(w, subs):
                z = _mlp_logits(m, x[None])[0]
                zo = z.copy()
                zo[t] = -np.inf
                j = int(np.argmax(zo))
                J = _mlp_jac(m, x)
                g += wi * (J[j] - J[t])               # d (max_other - z_t) / dx
            x = np.clip(np.clip(x - step * np.sign(g), x0 - BASES_EPS, x0 + BASES_EPS), 0, 1)
        return x.astype(np.float32)

    def victim(x):
        lab, p = ask(x[None])
        lp = np.log(np.maximum(p[0].astype(np.float64), 1e-30))
        return int(lab[0]) == t, float(np.delete(lp, t).max() - lp[t])
    w = np.full(n, 1.0 / n)
    x = adv_for(w, None)
    ok, loss = victim(x)
    q, i, last, lr = 1, 0, 0, BASES_LR
    while not ok and q < BASES_BUDGET:
        wp = w.copy()
        wp[i] += lr
        xp = adv_for(wp, x)
        okp, lp_ = victim(xp)
        q += 1
        if okp:
            return xp
        if q >= BASES_BUDGET:
            break
        wm = w.copy()
        wm[i] -= lr
        xm = adv_for(wm, x)
        okm, lm = victim(xm)
        q += 1
        if okm:
            return xm
        if lp_ < lm:
            w, x, loss = wp, xp, lp_
        else:
            w, x, loss = wm, xm, lm
        last = i
        i = (i + 1) % n
        if q > 5 and last == i:
            lr /= 2
    return x


def _entropy_grad(net, X):
    """The gradient of the prediction entropy H(softmax(net(x))) with respect to x, per row (_Dense)."""
    out, cache = net.forward(X)
    p = _softmax(out)
    lp = np.log(np.maximum(p, 1e-12))
    H = -(p * lp).sum(1, keepdims=True)
    g = -p * (lp + H)                      # dH / dlogits
    return net.backward(cache, g)[1]


def run_marich(h, baton, s, data):
    """Karmakar & Basu 2023 (Marich: a query-efficient distributionally equivalent model extraction attack
    using public data, NeurIPS), label-only, as the authors' code (lr_cnn_res_marich/utils.py, marich with
    sampling "all_elg") runs it: the public data is another task's (MARICH_POOL handwritten capital letters,
    pen_glyph as copycat's, the stand-in for their EMNIST-letters queries of MNIST models); MARICH_INIT drawn
    at random and asked, the extracted model (64 -> 64 ReLU -> 10) trained on the victim's labels; then
    rounds of budget B (MARICH_ROUND, x 1.01 a round): the B / (g1 g2) unqueried letters of highest entropy
    under the extracted model, of those the g1 share nearest (L2) to the 10 queried points it fits worst
    (highest loss against the victim's labels), of those the g2 share nearest to the centres of 10 k-means
    clusters of its entropy gradients; each round's picks asked (MARICH_BATCH rows a request, labels only) and
    the model retrained (MARICH_EPOCHS x 1.02 a round); until EXTRACT_BUDGET queries. The session records
    the extracted model's agreement (own_model_<queries>) besides the learning substitute's on its queries."""
    from sklearn.cluster import KMeans
    rng = s.rng
    letters = sorted(LETTERS)
    pool = np.stack([pen_glyph(LETTERS[letters[int(rng.integers(len(letters)))]], rng, width=(2.4, 4.0), rot=15.0,
                               scale=(0.65, 0.9), shear=0.25, shift=0.12, wobble=0.02)
                     for _ in range(MARICH_POOL)]).astype(np.float64)
    net = _Dense(rng, [D, 64, 10], ["relu", None], 1e-3)
    left = np.ones(len(pool), bool)
    Xq, yq = [], []

    def ask(idx):
        for k in range(0, len(idx), MARICH_BATCH):
            part = idx[k:k + MARICH_BATCH]
            lab, _ = query(h, baton, s, pool[part].astype(np.float32), scores=False)
            Xq.append(pool[part])
            yq.append(np.asarray(lab))
        left[idx] = False
    used, B, epochs = 0, float(MARICH_ROUND), float(MARICH_EPOCHS)
    try:
        idx = rng.choice(len(pool), MARICH_INIT, replace=False)
        ask(idx)
        used += len(idx)
        _ce_fit(net, np.concatenate(Xq), np.concatenate(yq), int(epochs), rng)
        while used < EXTRACT_BUDGET:
            B *= 1.01
            epochs *= 1.02
            want = min(int(B), EXTRACT_BUDGET - used)
            rest = np.flatnonzero(left)
            p = _softmax(net.forward(pool[rest])[0])
            ent = -(p * np.log(np.maximum(p, 1e-12))).sum(1)
            c1 = rest[np.argsort(-ent, kind="stable")[:int(want / (MARICH_G1 * MARICH_G2))]]
            XA, yA = np.concatenate(Xq), np.concatenate(yq)
            pa = _softmax(net.forward(XA)[0])
            loss = -np.log(np.maximum(pa[np.arange(len(yA)), yA], 1e-12))
            worst = XA[np.argsort(-loss, kind="stable")[:10]]
            dist = np.sqrt(((pool[c1][None] - worst[:, None]) ** 2).sum(-1))       # 10 x len(c1)
            order = np.argsort(dist, axis=1, kind="stable")
            k2, c2 = int(MARICH_G1 * len(c1)), []
            for col in range(order.shape[1]):                  # the t nearest of each, t growing until enough
                for r in range(10):
                    if c1[order[r, col]] not in c2:
                        c2.append(c1[order[r, col]])
                if len(c2) >= k2:
                    break
            c2 = np.asarray(c2[:k2])
            G = _entropy_grad(net, pool[c2])
            km = KMeans(n_clusters=10, random_state=0, n_init=1).fit(G)
            order = np.argsort(km.transform(G), axis=0, kind="stable")           # len(c2) x 10
            c3 = []
            for row in range(order.shape[0]):
                for cl in range(10):
                    if c2[order[row, cl]] not in c3:
                        c3.append(c2[order[row, cl]])
                if len(c3) >= want:
                    break
            idx = np.asarray(c3[:want])
            ask(idx)
            used += len(idx)
            _ce_fit(net, np.concatenate(Xq), np.concatenate(yq), int(epochs), rng)
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = used
    s.meta["own_model"] = lambda Xt: net.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def _soft_fit(net, X, P, epochs, rng, batch=64):
    """Training a classifier _Dense on the victim's probability vectors (cross-entropy on soft targets)."""
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for k in range(0, len(X), batch):
            i = order[k:k + batch]
            out, cache = net.forward(X[i])
            net.step(net.backward(cache, (_softmax(out) - P[i]) / len(i))[0])


def _deepfool_dist(net, X, iters):
    """DeepFool's (Moosavi-Dezfooli, Fawzi & Frossard 2016) distance to the decision boundary of a one-hidden-
    layer ReLU _Dense classifier, per row: linearise, step to the nearest class boundary (overshoot 0.02),
    until the label changes or `iters` steps."""
    W1, b1, W2, b2 = net.P
    X0 = np.asarray(X, np.float64)
    x = X0.copy()
    y = (np.maximum(x @ W1 + b1, 0) @ W2 + b2).argmax(1)
    live = np.ones(len(x), bool)
    for _ in range(iters):
        z1 = x @ W1 + b1
        z = np.maximum(z1, 0) @ W2 + b2
        live &= z.argmax(1) == y
        if not live.any():
            break
        J = np.einsum("dh,nh,hc->ncd", W1, (z1 > 0).astype(float), W2)          # n x 10 x 64
        w = J - J[np.arange(len(x)), y][:, None]
        f = z - z[np.arange(len(x)), y][:, None]
        nw = np.linalg.norm(w, axis=2)
        nw[np.arange(len(x)), y] = np.inf
        k = np.argmin(np.abs(f) / np.maximum(nw, 1e-12), axis=1)
        r = np.arange(len(x))
        step = (1.02 * (np.abs(f[r, k]) + 1e-4) / np.maximum(nw[r, k] ** 2, 1e-12))[:, None] * w[r, k]
        x[live] += step[live]
    return np.linalg.norm(x - X0, axis=1)


def run_inversenet(h, baton, s, data):
    """Gong, Chen, Yang, Mei & Wang 2021 (InverseNet: augmenting model extraction attacks with training data
    inversion, IJCAI), score-based, in three phases of EXTRACT_BUDGET (INV_PHASES, as the mebench
    reimplementation splits it): the attacker's natural data is INV_POOL augmented variants of its own
    digits (the knockoff and jbda_seed splits; a shift / rescale / N(0, 0.02) noise each, as activethief's).
      1. a k-center coreset (greedy, L2, from INV_SEEDS random centres) asked, scores; the substitute (64 ->
         64 ReLU -> 10) trained on the victim's probability vectors;
      2. high-confidence sample selection: the unqueried candidates farthest from the substitute's decision
         boundary (DeepFool distance) asked, scores; their images and truncated (top-1) confidence vectors
         train the inversion model (10 -> 64 ReLU -> 64 sigmoid, mean squared error, INV_INV_EPOCHS
         epochs);
      3. the inversions of one-hot confidence templates (each class at confidence 1.0, 0.9 or 0.8) with
         augmentation (rotation +-15 degrees, a shift of up to 10 %, zoom 0.9-1.1, brightness and contrast
         +-0.2, blur with 0.2, noise 0.05 with 0.3, mixup within the class), asked, scores; the substitute
         retrained on every answer.
    INV_BATCH rows a request. The session records the substitute's agreement (own_model_<queries>) besides
    the learning substitute's on its queries."""
    from scipy.ndimage import gaussian_filter
    rng = s.rng
    X = np.concatenate([data.rows("knockoff")[0], data.rows("jbda_seed")[0]])
    pool = np.stack([augment(X[int(rng.integers(len(X)))], rng, 0.02) for _ in range(INV_POOL)]).astype(np.float64)
    n1 = int(INV_PHASES[0] * EXTRACT_BUDGET)
    n2 = int(INV_PHASES[1] * EXTRACT_BUDGET)
    n3 = EXTRACT_BUDGET - n1 - n2
    sub = _Dense(rng, [D, 64, 10], ["relu", None], 1e-3)
    inv = _Dense(rng, [10, 64, D], ["relu", "sigmoid"], 1e-3)
    Xq, Pq = [], []
    left = np.ones(len(pool), bool)

    def ask(rows):
        for k in range(0, len(rows), INV_BATCH):
            _, p = query(h, baton, s, rows[k:k + INV_BATCH].astype(np.float32), scores=True)
            Xq.append(rows[k:k + INV_BATCH])
            Pq.append(p.astype(np.float64))
    used = 0
    try:
        # 1. k-center coreset
        cen = list(rng.choice(len(pool), INV_SEEDS, replace=False))
        mind = np.min(np.sqrt(((pool[:, None] - pool[cen][None]) ** 2).sum(-1)), axis=1)
        while len(cen) < n1:
            j = int(np.argmax(mind))
            cen.append(j)
            mind = np.minimum(mind, np.sqrt(((pool - pool[j]) ** 2).sum(-1)))
        cen = np.asarray(cen)
        ask(pool[cen])
        left[cen] = False
        used += len(cen)
        _soft_fit(sub, np.concatenate(Xq), np.concatenate(Pq), INV_EPOCHS, rng)
        # 2. high-confidence sample selection
        rest = np.flatnonzero(left)
        dist = _deepfool_dist(sub, pool[rest], INV_DF_ITERS)
        pick = rest[np.argsort(-dist, kind="stable")[:n2]]
        k0 = len(Xq)
        ask(pool[pick])
        left[pick] = False
        used += len(pick)
        XI = np.concatenate(Xq[k0:])
        PI = np.concatenate(Pq[k0:])
        T = np.where(PI == PI.max(1, keepdims=True), PI, 0.0)          # truncation: the top-1 confidence
        for _ in range(INV_INV_EPOCHS):
            order = rng.permutation(len(XI))
            for k in range(0, len(XI), 64):
                i = order[k:k + 64]
                out, cache = inv.forward(T[i])
                inv.step(inv.backward(cache, 2.0 * (out - XI[i]) / (len(i) * D))[0])
        # 3. inversions of confidence templates, augmented
        cls = rng.integers(10, size=n3)
        tmpl = np.eye(10)[cls] * rng.choice([1.0, 0.9, 0.8], size=n3)[:, None]
        G = inv.forward(tmpl)[0]
        rows = []
        for g in G:
            a = _affine8(g, rot=rng.uniform(-15, 15), scale=rng.uniform(0.9, 1.1)).reshape(SIDE, SIDE)
            a = _shift_img(a, int(rng.integers(-1, 2)), int(rng.integers(-1, 2)))
            a = (a - a.mean()) * rng.uniform(0.8, 1.2) + a.mean() + rng.uniform(-0.2, 0.2)
            if rng.random() < 0.2:
                a = gaussian_filter(a, 0.5)
            if rng.random() < 0.3:
                a = a + rng.normal(0, 0.05, a.shape)
            rows.append(np.clip(a, 0, 1).reshape(D))
        rows = np.stack(rows)
        for c in np.unique(cls):                                         # mixup within the class
            i = np.flatnonzero(cls == c)
            if len(i) > 1:
                lam = rng.random(len(i))[:, None]
                rows[i] = lam * rows[i] + (1 - lam) * rows[rng.permutation(i)]
        ask(rows)
        used += len(rows)
        _soft_fit(sub, np.concatenate(Xq), np.concatenate(Pq), INV_EPOCHS, rng)
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = used
    s.meta["own_model"] = lambda Xt: sub.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def setup_heldout17_attack(s, data, interleave):
    """The unseen classes of held out 17 (HELDOUT17_ATTACKS). Evasion: the original is a row of the padding
    split (HELDOUT17_ORIG_PAD, offsets 75-83, disjoint from held out 10's to 16's), one per session by
    session index. Success, rows as sent: aha and rambo (L2 attacks) the first answered query whose label
    differs from the true label at L2 <= 1.0 (L2_GOAL, as HopSkipJump's); bases (an L-inf attack) the first
    answered query whose label differs within L-inf BASES_EPS (0.125, the dev Square ball; every candidate
    is inside it by construction). marich and inversenet are extraction: surrogate agreement after 500 /
    1,000 / 2,000 queries, as jbda and knockoff (both also record their own model's agreement)."""
    s.pace_rows = s.cls in ("rambo", "marich", "inversenet")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT17_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls == "bases":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels)) if labels[j] != y0 and np.abs(rows[j] - x0).max() <= BASES_EPS + 1e-6), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)


def run_heldout17_attack(h, baton, s, data):
    if s.cls == "marich":
        run_marich(h, baton, s, data)
        return
    if s.cls == "inversenet":
        run_inversenet(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=s.cls == "bases")
    try:
        if s.cls == "aha":
            X = np.concatenate([data.rows("knockoff")[0], data.rows("jbda_seed")[0]])
            adv = aha_attack(ask, x0, y0, s.rng, X[s.rng.permutation(len(X))])
        elif s.cls == "rambo":
            adv = rambo_attack(ask, x0, y0, s.rng, s.meta)
        else:
            adv = bases_attack(ask, x0, y0, s.rng, attacker_surrogates(data, BASES_SIZES, s.rng))
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# Held out 18's unseen attack classes (HELDOUT18_ATTACKS), written from their papers and the authors' code
# (ART 1.20.1 has none of them).
def fw_attack(ask, x0, y0, rng):
    """Chen, Zhou, Yi & Gu 2020 (A Frank-Wolfe framework for efficient and effective adversarial attacks,
    AAAI), FW-black, L-inf FW_EPS, score-based, as the authors' code runs it (FW_black.py; main_blackbox.py's
    defaults: targeted 1, the target (true label + 1) mod 10 as its generate_data picks it, grad_est 25,
    delta 0.01, sensing gaussian, beta1 0.99, att_lr 0.04; its untargeted branch does not run: it reads an
    undefined `labels`): each iteration a zeroth-order gradient estimate of the target's cross-entropy from
    FW_B antithetic Gaussian directions (x + delta u and x - delta u, the 2 FW_B probes one request, clipped
    to [0, 1]: the server answers 400 to out-of-range rows), mean(loss u) / delta; momentum m = beta1 m + (1 -
    beta1) g; the linear minimisation oracle's vertex s = x0 - eps sign(m); x = clip(x + lr (s - x)); the
    iterate asked (one row); the learning rate constant until the loss over the last FW_HIST iterates ends
    above 0.999 times where it began, then lr / sqrt(t - t_decay + 1). Stops when the iterate is labelled the
    target or at FW_BUDGET queries. (The harness's success is the untargeted one: any answer other than y0
    inside the ball.)"""
    x = np.asarray(x0, np.float64).copy()
    t = (y0 + 1) % 10
    m = np.zeros(D)
    used, start_decay, last = 0, 0, []
    for it in range(10 ** 6):
        if used + 2 * FW_B + 1 > FW_BUDGET:
            break
        u = rng.normal(0.0, 1.0, (FW_B, D))
        noise = np.concatenate([u, -u])
        _, p = ask(np.clip(x + FW_DELTA * noise, 0, 1).astype(np.float32))
        used += 2 * FW_B
        L = -np.log(np.maximum(p[:, t].astype(np.float64), 1e-30))
        g = (L[:, None] * noise).mean(0) / FW_DELTA
        m = m * FW_BETA + g * (1 - FW_BETA)
        s_t = np.asarray(x0, np.float64) - FW_EPS * np.sign(m)
        lr = FW_LR if start_decay == 0 else FW_LR / (it - start_decay + 1) ** 0.5
        x = np.clip(x + lr * (s_t - x), 0, 1)
        lab, p1 = ask(x.astype(np.float32)[None])
        used += 1
        last = (last + [-np.log(max(float(p1[0, t]), 1e-30))])[-FW_HIST:]
        if len(last) == FW_HIST and last[-1] > 0.999 * last[0]:
            if start_decay == 0:
                start_decay = it - 1
            last = []
        if int(lab[0]) == t:
            break
    return x


def _dropout_jac_t(sub, x, w, p, rng):
    """w . d logits / dx of an sklearn ReLU MLP at x with dropout p on every hidden layer (inverted dropout,
    as torch's in train mode): the reference model's gradient of the victim's loss direction w."""
    a = np.asarray(x, np.float64)
    J = np.eye(D)
    for W, b in zip(sub.coefs_[:-1], sub.intercepts_[:-1]):
        z = a @ W + b
        keep = (rng.random(z.shape) >= p) / (1.0 - p) if p > 0 else np.ones_like(z)
        m = (z > 0) * keep
        J = (J @ W) * m
        a = np.maximum(z, 0.0) * keep
    return (J @ sub.coefs_[-1]) @ w


def subspace_attack(ask, x0, y0, rng, subs):
    """Guo, Yan & Zhang 2019 (Subspace attack: exploiting promising subspaces for query-efficient black-box
    attacks, NeurIPS), untargeted, L-inf SUB_EPS, score-based, as the authors' code (attack.py, its
    defaults: loss cw, exploration 0.1, fd-eta 0.1, prior-lr 1.0, prior-update momentum, ref-arch-init-drop
    0, max-drop 0.5, drop-grow-iter 10, drop-gamma 0.01; image-lr an eighth of the ball, as their 1/255 of
    8/255) runs it: the victim's logits (log-probabilities) of the iterate; each step a reference model drawn
    at random (subs, MLPs the attacker trained on its own labelled digits) with dropout p (0 for the first 10
    steps, then 0.5 - 0.5 exp(-(t - 10) 0.01)), its gradient of the victim's CW loss direction (the loss's
    gradient at the victim's logits pulled back through the reference model), normalised: the search
    direction u; the probes x + fd (prior +- tau u) / |prior +- tau u| (one request, 2 rows, scores: the CW
    loss max_{j != y} z_j - z_y); prior += prior_lr g / |g|_1 with g = (l+ - l-) / (fd tau) u; x = x + lr
    sign(prior), projected onto the ball and [0, 1]; the iterate asked (one row). Stops at the first
    misclassified iterate or at SUB_BUDGET queries."""
    x0 = np.asarray(x0, np.float64)
    used = [0]

    def victim(rows):
        if used[0] + len(rows) > SUB_BUDGET:
            raise _Budget
        used[0] += len(rows)
        lab, p = ask(np.clip(rows, 0, 1).astype(np.float32))
        return np.asarray(lab), np.log(np.maximum(np.asarray(p, np.float64), 1e-30))

    def cw(z):
        zo = z.copy()
        zo[:, y0] = -np.inf
        return zo.max(1) - z[:, y0]
    init, mx, grow, gamma = SUB_DROP
    x = x0.copy()
    prior = np.zeros(D)
    try:
        lab, z = victim(x[None])
        if int(lab[0]) != y0:
            return x
        for step in range(10 ** 6):
            drop = init if step < grow else mx - (mx - init) * np.exp(-(step - grow) * gamma)
            zo = z[0].copy()
            zo[y0] = -np.inf
            w = np.zeros(10)
            w[int(np.argmax(zo))] += 1.0
            w[y0] -= 1.0
            u = _dropout_jac_t(subs[int(rng.integers(len(subs)))], x, w, drop, rng)
            u = u / max(float(np.linalg.norm(u)), 1e-8)
            q1, q2 = prior + SUB_EXPLORATION * u, prior - SUB_EXPLORATION * u
            _, zz = victim(np.stack([x + SUB_FD_ETA * q1 / max(np.linalg.norm(q1), 1e-8),
                                     x + SUB_FD_ETA * q2 / max(np.linalg.norm(q2), 1e-8)]))
            l1, l2 = cw(zz)
            g = (l1 - l2) / (SUB_FD_ETA * SUB_EXPLORATION) * u
            prior = prior + SUB_PRIOR_LR * g / max(float(np.abs(g).sum()), 1e-8)
            x = x + SUB_IMAGE_LR * np.sign(prior)
            x = np.clip(x0 + np.clip(x - x0, -SUB_EPS, SUB_EPS), 0, 1)
            lab, z = victim(x[None])
            if int(lab[0]) != y0:
                break
    except _Budget:
        pass
    return x


def ods_boundary_attack(ask, x0, y0, rng, subs):
    """Tashiro, Song & Ermon 2020 (Diversity can be transferable: output diversification for white- and
    black-box attacks, NeurIPS), ODS-Boundary, untargeted, L2, label-only, as the authors' code
    (blackbox_boundaryODS.py with --ODS, attacksODS/boundary_attack.py: Foolbox 3's BoundaryAttack with its
    defaults, spherical and source steps 0.01, step adaptation 1.5, statistics every 10 steps over the last
    100 spherical and 30 step outcomes) runs it, with a budget of ODS_BUDGET queries: the start from
    LinearSearchBlendedUniformNoiseAttack(steps=50) (uniform noise drawn until adversarial, at most 1,000
    draws; then the first of the blends (1 - e) x0 + e noise, e = 0, 0.02, ... 1, that is adversarial; then
    the start asked once more); each step the orthogonal perturbation an ODS direction (the gradient of w .
    logits of a surrogate drawn at random, w uniform in [-1, 1]^10, normalised; subs: MLPs the attacker
    trained on its own labelled digits) made orthogonal to the source direction, scaled to spherical_step
    times the distance, projected on the sphere, then the step of source_step towards x0; the candidate asked
    (one row), and every 10th step the spherical candidate too (one row, its own request); a candidate kept
    when adversarial and nearer; the step sizes adapted from the success rates as Foolbox does. It runs until
    its budget is spent (the authors' loop counts every query against --num_step)."""
    x0 = np.asarray(x0, np.float64)
    q = [0]

    def adv(x):
        if q[0] + 1 > ODS_BUDGET:
            raise _Budget
        q[0] += 1
        return int(ask(np.clip(x, 0, 1).astype(np.float32)[None])[0][0]) != y0
    best = x0
    try:
        noise = None
        for _ in range(ODS_INIT_DIRECTIONS):
            r = rng.random(D)
            if adv(r):
                noise = r
                break
        if noise is None:
            return x0
        for e in np.linspace(0, 1, ODS_INIT_STEPS + 1):
            cand = (1 - e) * x0 + e * noise
            if adv(cand):
                best = cand
                break
        if not adv(best):
            return x0
        sph, src = ODS_SPHERICAL, ODS_SOURCE
        st_sph = collections.deque(maxlen=100)
        st_step = collections.deque(maxlen=30)
        for step in range(1, 10 ** 7):
            if src < ODS_CONVERGE:
                break
            usd = x0 - best
            sn = float(np.linalg.norm(usd))
            sd = usd / sn
            m = subs[int(rng.integers(len(subs)))]
            eta = _mlp_jac(m, best).T @ rng.uniform(-1, 1, 10)
            eta = eta / max(float(np.linalg.norm(eta)), 1e-12)
            eta = eta - (sd @ eta) * sd
            eta = eta * (sph * sn / max(float(np.linalg.norm(eta)), 1e-12))
            spherical = np.clip(x0 + (eta - usd) / np.sqrt(sph ** 2 + 1), 0, 1)
            nsd = x0 - spherical
            nn_ = float(np.linalg.norm(nsd))
            length = max(src * sn + nn_ - sn, 0.0) / max(nn_, 1e-12)
            cand = np.clip(spherical + length * nsd, 0, 1)
            check = step % ODS_EVERY == 0
            is_adv = adv(cand)
            if check:
                st_sph.append(adv(spherical))
                st_step.append(is_adv)
            if is_adv and np.linalg.norm(x0 - cand) < sn:
                best = cand
            if check:
                if len(st_sph) == st_sph.maxlen:
                    pr = float(np.mean(st_sph))
                    if pr > 0.5:
                        sph, src = sph * ODS_ADAPT, src * ODS_ADAPT
                        st_sph.clear()
                    elif pr < 0.2:
                        sph, src = sph / ODS_ADAPT, src / ODS_ADAPT
                        st_sph.clear()
                if len(st_step) == st_step.maxlen:
                    pr = float(np.mean(st_step))
                    if pr > 0.25:
                        src *= ODS_ADAPT
                        st_step.clear()
                    elif pr < 0.1:
                        src /= ODS_ADAPT
                        st_step.clear()
    except _Budget:
        pass
    return best


def run_ideal(h, baton, s, data):
    """Zhang, Chen & Lyu 2023 (IDEAL: query-efficient data-free learning from black-box models, ICLR), hard
    labels, scaled to a 64-feature input: no data; the student S (64 -> 64 ReLU -> 10). Each round (an epoch
    of theirs) a new generator (z ~ N(0, I) of IDEAL_NZ -> 64 ReLU -> 64 sigmoid, initialised afresh, as
    their generator is re-initialised every epoch) trained IDEAL_G_STEPS Adam steps against the student
    alone, no query: the student's cross-entropy against random target classes plus IDEAL_INFO times the
    information-entropy loss (sum_c m_c log m_c, m the student's mean softmax over the batch, which balances
    the classes); then IDEAL_BATCH of its images asked (one request, labels only) and the student trained
    IDEAL_S_EPOCHS epochs on every image asked so far against the victim's labels. Until EXTRACT_BUDGET
    queries; the session records the student's agreement (own_model_<queries>) besides the learning
    substitute's on its queries. (The paper's settings are for 32x32 CNNs; the sizes here are ours.)"""
    rng = s.rng
    S = _Dense(rng, [D, 64, 10], ["relu", None], IDEAL_LR)
    Xq, yq = [], []
    try:
        while sum(len(v) for v in Xq) + IDEAL_BATCH <= EXTRACT_BUDGET:
            G = _Dense(rng, [IDEAL_NZ, 64, D], ["relu", "sigmoid"], IDEAL_G_LR)
            for _ in range(IDEAL_G_STEPS):
                x, gc = G.forward(rng.normal(0.0, 1.0, (IDEAL_BATCH, IDEAL_NZ)))
                out, sc = S.forward(x)
                p = _softmax(out)
                t = rng.integers(10, size=len(x))
                g = p.copy()
                g[np.arange(len(x)), t] -= 1.0
                g /= len(x)
                mbar = p.mean(0)
                gp = (np.log(np.maximum(mbar, 1e-12)) + 1.0)[None, :] / len(x)
                g = g + IDEAL_INFO * p * (gp - (gp * p).sum(1, keepdims=True))
                _, gx = S.backward(sc, g)
                G.step(G.backward(gc, gx)[0])
            x, _ = G.forward(rng.normal(0.0, 1.0, (IDEAL_BATCH, IDEAL_NZ)))
            lab, _ = query(h, baton, s, x.astype(np.float32), scores=False)
            Xq.append(x)
            yq.append(np.asarray(lab))
            _ce_fit(S, np.concatenate(Xq), np.concatenate(yq), IDEAL_S_EPOCHS, rng)
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = int(sum(len(v) for v in Xq))
    s.meta["own_model"] = lambda Xt: S.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def run_disguide(h, baton, s, data):
    """Rosenthal, Enouen, Pham & Tan 2023 (DisGUIDE: disagreement-guided data-free model extraction, AAAI),
    the soft-label setting, scaled to a 64-feature input: no data; two clones (64 -> 64 ReLU -> 10, different
    initialisations) and a generator (z ~ N(0, I) of DG_NZ -> 64 ReLU -> 64 sigmoid). Each iteration
    DG_G_STEPS generator steps maximising the clones' disagreement (the L1 distance of their softmax outputs,
    which needs no query: the victim's gradient is never estimated) minus DG_DIV times the class-diversity
    loss of their mean softmax (sum_c m_c log m_c); then DG_BATCH generated images asked (one request,
    scores) and kept in the replay memory; each clone DG_C_STEPS Adam steps on the cross-entropy against the
    victim's probability vectors, each step on the new batch and an equal replayed sample of the memory.
    Until EXTRACT_BUDGET queries; the session records the clones' averaged agreement
    (own_model_<queries>) besides the learning substitute's on its queries."""
    rng = s.rng
    G = _Dense(rng, [DG_NZ, 64, D], ["relu", "sigmoid"], DG_LR_G)
    C = [_Dense(rng, [D, 64, 10], ["relu", None], DG_LR_C) for _ in range(2)]
    MX, MP = [], []
    try:
        while sum(len(v) for v in MX) + DG_BATCH <= EXTRACT_BUDGET:
            for _ in range(DG_G_STEPS):
                x, gc = G.forward(rng.normal(0.0, 1.0, (DG_BATCH, DG_NZ)))
                outs = [c.forward(x) for c in C]
                ps = [_softmax(o) for o, _ in outs]
                sgn = np.sign(ps[0] - ps[1]) / len(x)              # d |p1 - p2|_1 / d p1 (and minus for p2)
                mbar = (ps[0] + ps[1]).mean(0) / 2
                gm = (np.log(np.maximum(mbar, 1e-12)) + 1.0)[None, :] / (2 * len(x))
                gx = np.zeros_like(x)
                for k, ((o, cache), p) in enumerate(zip(outs, ps)):
                    gp = -(sgn if k == 0 else -sgn) + DG_DIV * gm   # minimise -disagreement + div
                    glo = p * (gp - (gp * p).sum(1, keepdims=True))
                    gx += C[k].backward(cache, glo)[1]
                G.step(G.backward(gc, gx)[0])
            x, _ = G.forward(rng.normal(0.0, 1.0, (DG_BATCH, DG_NZ)))
            _, P = query(h, baton, s, x.astype(np.float32), scores=True)
            MX.append(x)
            MP.append(np.asarray(P, np.float64))
            AX, AP = np.concatenate(MX), np.concatenate(MP)
            for c in C:
                for _ in range(DG_C_STEPS):
                    r = rng.integers(len(AX), size=DG_BATCH)
                    Xb, Pb = np.concatenate([x, AX[r]]), np.concatenate([MP[-1], AP[r]])
                    out, cache = c.forward(Xb)
                    c.step(c.backward(cache, (_softmax(out) - Pb) / len(Xb))[0])
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = int(sum(len(v) for v in MX))
    s.meta["own_model"] = lambda Xt: sum(c.forward(np.asarray(Xt, np.float64))[0] for c in C).argmax(1)


def setup_heldout18_attack(s, data, interleave):
    """The unseen classes of held out 18 (HELDOUT18_ATTACKS). Evasion: the original is a row of the padding
    split (HELDOUT18_ORIG_PAD, offsets 84-92, disjoint from held out 10's to 17's), one per session by
    session index. Success, rows as sent: ods-boundary (an L2 attack) the first answered query whose label
    differs from the true label at L2 <= 1.0 (L2_GOAL, as HopSkipJump's); fw and subspace (L-inf attacks)
    the first answered query whose label differs within L-inf 0.125 (FW_EPS, SUB_EPS: the dev Square ball;
    their iterates are inside it by construction; their probes, fw's x + 0.01 u and subspace's L2 steps of 0.1,
    may lie outside it and count only if inside). ideal and disguide are extraction: surrogate agreement
    after 500 / 1,000 / 2,000 queries, as jbda and knockoff (both also record their own model's
    agreement)."""
    s.pace_rows = s.cls in ("fw", "ideal", "disguide")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT18_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls in ("fw", "subspace"):
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels)) if labels[j] != y0 and np.abs(rows[j] - x0).max() <= FW_EPS + 1e-6), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)


def run_heldout18_attack(h, baton, s, data):
    if s.cls == "ideal":
        run_ideal(h, baton, s, data)
        return
    if s.cls == "disguide":
        run_disguide(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=s.cls != "ods-boundary")
    try:
        if s.cls == "fw":
            adv = fw_attack(ask, x0, y0, s.rng)
        elif s.cls == "subspace":
            adv = subspace_attack(ask, x0, y0, s.rng, attacker_surrogates(data, SUB_SIZES, s.rng))
        else:
            adv = ods_boundary_attack(ask, x0, y0, s.rng, attacker_surrogates(data, ODS_SIZES, s.rng))
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# Held out 19's unseen attack classes (HELDOUT19_ATTACKS), written from their papers and the authors' code
# (ART 1.20.1 has none of them).
def spsa_attack(ask, x0, y0, rng):
    """Uesato, O'Donoghue, van den Oord & Kohli 2018 (Adversarial risk and the dangers of evaluating against weak
    attacks, ICML), the SPSA attack as cleverhans' SPSA (the authors' implementation; its defaults: spsa_samples
    128, spsa_iters 1, delta 0.01, learning_rate 0.01; TensorAdam's beta1 0.9, beta2 0.999, epsilon 1e-9):
    untargeted, L-inf SPSA_EPS, score-based. The perturbation starts uniform in the ball (projected onto it and
    [0, 1]); each iteration the gradient of the margin logit loss (the true class's log-probability minus the
    largest other's) estimated from 64 Rademacher directions and their negatives, delta times each (the 128 probes
    one request, clipped to [0, 1]: the server answers 400 to out-of-range rows), mean(loss * dx) / delta; an Adam
    step; the projection; the new iterate asked (one row) for the loss, stopping when it is below 0 (cleverhans'
    early_stop_loss_threshold 0: misclassified). At most SPSA_BUDGET queries."""
    x0 = np.asarray(x0, np.float64)
    pert = np.clip(x0 + rng.uniform(-SPSA_EPS, SPSA_EPS, D), 0, 1) - x0
    m, v, t, used = np.zeros(D), np.zeros(D), 0, 0

    def margin(p):
        z = np.log(np.maximum(np.asarray(p, np.float64), 1e-30))
        zo = z.copy()
        zo[:, y0] = -np.inf
        return z[:, y0] - zo.max(1)
    while used + SPSA_SAMPLES + 1 <= SPSA_BUDGET:
        sgn = np.sign(rng.uniform(-1.0, 1.0, (SPSA_SAMPLES // 2, D)))
        dx = SPSA_DELTA * np.concatenate([sgn, -sgn])
        _, p = ask(np.clip(x0 + pert + dx, 0, 1).astype(np.float32))
        used += SPSA_SAMPLES
        g = (margin(p)[:, None] * dx).mean(0) / SPSA_DELTA
        t += 1
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        pert = pert - SPSA_LR * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-9)
        pert = np.clip(x0 + np.clip(pert, -SPSA_EPS, SPSA_EPS), 0, 1) - x0
        _, p1 = ask((x0 + pert).astype(np.float32)[None])
        used += 1
        if margin(p1)[0] < 0:
            break
    return x0 + pert


def pixle_attack(ask, x0, y0, rng):
    """Pomponi, Scardapane & Uncini 2022 (Pixle: a fast and effective black-box attack based on rearranging pixels,
    IJCNN), untargeted, L0, score-based, as torchattacks' Pixle (written with the first author) runs it with its
    restart loop (update_each_iteration False) and random pixel mapping, the patch sides PIXLE_DIMS pixels (the
    documented example's (0.1, 0.2) of the 8-pixel side): the loss is the true class's probability, asked once for
    the original; each iteration a patch of the original at a random place (x, y uniform, int(u (side - 1))) with
    random sides, its pixels copied in row-major order onto random places (int(u (side - 1)) each) of the
    restart's image; the candidate asked (one row; its answer serves both the loss and the stop test, which
    torchattacks asks twice); the best candidate kept; after PIXLE_ITERS iterations the restart's image becomes the
    best candidate so far (or, while none improved the loss, the last candidate). Stops at the first misclassified
    candidate or after PIXLE_RESTARTS restarts (PIXLE_BUDGET queries)."""
    x0 = np.asarray(x0, np.float64).reshape(SIDE, SIDE)
    q = [0]

    def loss(img):
        if q[0] + 1 > PIXLE_BUDGET:
            raise _Budget
        q[0] += 1
        lab, p = ask(img.reshape(1, D).astype(np.float32))
        return float(p[0, y0]), int(lab[0]) != y0
    best_image = x0.copy()
    lo, hi = PIXLE_DIMS
    try:
        best_p, _ = loss(x0)
        best_solution = None
        for _ in range(PIXLE_RESTARTS):
            stop, pert = False, best_image
            for _ in range(PIXLE_ITERS):
                x, y = rng.uniform(0, 1, 2)
                xo, yo = int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))
                x, y = int(x * (SIDE - 1)), int(y * (SIDE - 1))
                xo, yo = min(xo, SIDE - x), min(yo, SIDE - y)
                dest = [tuple(int(u * (SIDE - 1)) for u in rng.uniform(0, 1, 2)) for _ in range(xo * yo)]
                src = x0[y:y + yo, x:x + xo].ravel()
                pert = best_image.copy()
                for (r, c), val in zip(dest, src):
                    pert[r, c] = val
                p, mis = loss(pert)
                if p < best_p:
                    best_p, best_solution = p, pert
                if mis:
                    best_solution, stop = pert, True
                    break
            best_image = pert if best_solution is None else best_solution
            if stop:
                break
    except _Budget:
        pass
    return best_image.reshape(D)


def par_attack(ask, x0, y0, rng):
    """Shi, Han, Tan & Kuang 2022 (Decision-based black-box attack against vision transformers via patch-wise
    adversarial removal, NeurIPS), untargeted, L2, label-only, the authors' par_main.py pipeline "patch + hsja"
    with a budget of PAR_BUDGET queries (all_access): the start from Foolbox 2's AdditiveGaussianNoiseAttack with
    epsilons = all_access / 10 (x0 + e N(0, e / sqrt(3)), e = 1/200, 2/200, ... until adversarial, clipped); then
    PAR (boundary/patch_attack.py): the image cut into PAR_PATCHES x PAR_PATCHES patches, each with its noise's L2
    and a query value of 1; repeatedly the patch of largest value x noise has its noise removed (set to x0's),
    asked (one row), kept if still adversarial (its noise now 0) or else its value set to 0; when every patch's
    product is 0 the patches are halved (to single pixels; then PAR ends); then Foolbox 2's HopSkipJump from PAR's
    result as par_main.py calls it (max_num_evals 1, initial_num_evals 1, iterations = remaining / 26; L2, gamma 1:
    binary searches to a blend tolerance of 1 / (8 x 64), one probe a gradient estimate at delta 0.1 then sqrt(d)
    theta dist, a geometric step search from dist / sqrt(t)). One row a request."""
    x0 = np.asarray(x0, np.float64)
    q = [0]

    def adv(x):
        if q[0] + 1 > PAR_BUDGET:
            raise _Budget
        q[0] += 1
        return int(ask(np.clip(x, 0, 1).astype(np.float32)[None])[0][0]) != y0
    best = x0
    try:
        start = None
        for e in np.linspace(0, 1, PAR_INIT + 1)[1:]:
            cand = np.clip(x0 + e * rng.normal(0.0, e / np.sqrt(3), D), 0, 1)
            if adv(cand):
                start = cand
                break
        if start is None:
            return x0
        best = start
        noise = (start - x0).reshape(SIDE, SIDE)
        npatch = PAR_PATCHES

        def noise_mask(npch):
            sz = SIDE // npch
            return np.array([[np.linalg.norm(noise[r * sz:(r + 1) * sz, c * sz:(c + 1) * sz]) for c in range(npch)]
                             for r in range(npch)])
        size, value, nmask = SIDE // npatch, np.ones((npatch, npatch)), noise_mask(npatch)
        cur = float(np.linalg.norm(noise))
        while True:
            if float((value * nmask).sum()) == 0.0:
                npatch *= 2
                size = SIDE // npatch
                if size < 1:
                    break
                value, nmask = np.ones((npatch, npatch)), noise_mask(npatch)
                continue
            r, c = divmod(int(np.argmax(value * nmask)), npatch)
            tmp = noise.copy()
            tmp[r * size:(r + 1) * size, c * size:(c + 1) * size] = 0.0
            if float(np.linalg.norm(tmp)) >= cur:
                value[r, c] = 0.0
                continue
            if adv(x0 + tmp.reshape(D)):
                noise, cur = tmp, float(np.linalg.norm(tmp))
                nmask[r, c] = 0.0
            else:
                value[r, c] = 0.0
        best = x0 + noise.reshape(D)
        iters = int((PAR_BUDGET - q[0]) / PAR_HSJA_COST)
        theta = 1.0 / (np.sqrt(D) * D)

        def bsearch(xa):
            lo, hi = 0.0, 1.0
            while hi - lo > theta:
                mid = (lo + hi) / 2.0
                if adv((1 - mid) * x0 + mid * xa):
                    hi = mid
                else:
                    lo = mid
            return (1 - hi) * x0 + hi * xa
        if iters > 0 and adv(best):
            x = bsearch(best)
            dist = float(np.linalg.norm(x - x0))
            best = x
            for step in range(1, iters + 1):
                delta = 0.1 if step == 1 else np.sqrt(D) * theta * dist
                rv = rng.normal(0.0, 1.0, D)
                rv /= np.linalg.norm(rv)
                pt = np.clip(x + delta * rv, 0, 1)
                rv = (pt - x) / delta
                g = rv if adv(pt) else -rv
                g /= max(float(np.linalg.norm(g)), 1e-12)
                eps = dist / np.sqrt(step)
                while not adv(np.clip(x + eps * g, 0, 1)):
                    eps /= 2.0
                x = bsearch(np.clip(x + eps * g, 0, 1))
                dist = float(np.linalg.norm(x - x0))
                if dist < float(np.linalg.norm(best - x0)):
                    best = x
    except _Budget:
        pass
    return best


def run_active_mixup(h, baton, s, data):
    """Wang, Li, Wang & Gong 2020 (Neural networks are more productive teachers than human raters: active mixup for
    data-efficient knowledge distillation from a blackbox model, CVPR), as the authors' code runs it (00_data_prep:
    real images and the candidate pool of pairs by index rotation, x_j with x_(j - k) mod N for k = 1 .. (N - 1) / 2;
    01: the real images asked; 10_data_prep: for every pair the student's most uncertain mixing weight among w =
    0.30, 0.34, .. 0.70 (the lowest top probability of x_i w + x_j (1 - w)) and the pairs with the lowest taken;
    11: those mixups asked and added; active_train: a new student trained on every answer so far, the victim's
    probability vectors as soft targets): AM_REAL of the attacker's natural digits (the knockoff and jbda_seed
    splits) asked first, then rounds of AM_ROUND mixups, AM_BATCH rows a request, scores, until EXTRACT_BUDGET
    queries; the session records the last student's agreement (own_model_<queries>) besides the learning
    substitute's on its queries. (The student, 64 -> 64 ReLU -> 10 with Adam, AM_EPOCHS epochs a round, and the
    round sizes are ours: the paper's are VGG students, 1,000 real images and 10,000 mixups a stage.)"""
    rng = s.rng
    Xn = np.concatenate([data.rows("knockoff")[0], data.rows("jbda_seed")[0]]).astype(np.float64)
    real = Xn[rng.permutation(len(Xn))[:AM_REAL]]
    N = len(real)
    pairs = np.array([(j, (j - k) % N) for j in range(N) for k in range(1, (N - 1) // 2 + 1)], np.int64)
    TX, TP = [], []
    S = None

    def ask(X):
        for k in range(0, len(X), AM_BATCH):
            _, p = query(h, baton, s, X[k:k + AM_BATCH].astype(np.float32), scores=True)
            TX.append(X[k:k + AM_BATCH])
            TP.append(np.asarray(p, np.float64))

    def train():
        net = _Dense(rng, [D, 64, 10], ["relu", None], AM_LR)
        _soft_fit(net, np.concatenate(TX), np.concatenate(TP), AM_EPOCHS, rng)
        return net
    try:
        ask(real)
        S = train()
        left = np.arange(len(pairs))
        while sum(len(v) for v in TX) + AM_ROUND <= EXTRACT_BUDGET and len(left) >= AM_ROUND:
            A, B = real[pairs[left, 0]], real[pairs[left, 1]]
            unc = np.full(len(left), np.inf)
            wbest = np.zeros(len(left))
            for w in AM_W:
                top = _softmax(S.forward(A * w + B * (1 - w))[0]).max(1)
                better = top < unc
                unc[better], wbest[better] = top[better], w
            pick_ = np.argsort(unc, kind="stable")[:AM_ROUND]
            ask(A[pick_] * wbest[pick_, None] + B[pick_] * (1 - wbest[pick_, None]))
            left = np.delete(left, pick_)
            S = train()
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = int(sum(len(v) for v in TX))
    if S is not None:
        s.meta["own_model"] = lambda Xt: S.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def _adam_step(params, grads, st, lr, b1, b2):
    """One Adam step on a list of arrays (state st: [t, m list, v list])."""
    st[0] += 1
    for n, (p, g) in enumerate(zip(params, grads)):
        st[1][n] = b1 * st[1][n] + (1 - b1) * g
        st[2][n] = b2 * st[2][n] + (1 - b2) * g * g
        p -= lr * (st[1][n] / (1 - b1 ** st[0])) / (np.sqrt(st[2][n] / (1 - b2 ** st[0])) + 1e-8)


def _dfhl_std_aug(n, rng):
    """DFHL-RS's standard augmentation (kornia RandomCrop(32, padding=4) and RandomHorizontalFlip, per image) on an
    8x8 image: a shift of -1..1 pixels in each direction, zero fill, then a mirror with probability 0.5. Returned as
    source indices (-1: zero) so that the generator's gradient can be sent back through it."""
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    src = np.empty((n, D), np.int64)
    for k in range(n):
        dy, dx = (int(v) for v in rng.integers(-1, 2, 2))
        cx = (SIDE - 1 - xx) if rng.random() < 0.5 else xx
        sy, sx = yy - dy, cx - dx
        ok = (sy >= 0) & (sy < SIDE) & (sx >= 0) & (sx < SIDE)
        src[k] = np.where(ok, sy * SIDE + sx, -1).reshape(D)
    return src


def _dfhl_apply(X, src):
    return np.where(src >= 0, np.take_along_axis(X, np.maximum(src, 0), 1), 0.0)


def _dfhl_strong_aug(X, rng):
    """DFHL-RS's strong_aug (dataset.py) on a batch: a centre crop of int(side U(0.95, 1)) resized back (bilinear),
    N(0, 0.001) noise, a vertical and a horizontal flip each with probability 0.5, a rotation by -15, 0 or 15
    degrees (nearest, zero fill); one draw for the whole batch, as theirs."""
    from scipy.ndimage import rotate, zoom
    A = np.asarray(X, np.float64).reshape(-1, SIDE, SIDE)
    ch, cw = int(SIDE * rng.uniform(0.95, 1.0)), int(SIDE * rng.uniform(0.95, 1.0))
    if ch < SIDE or cw < SIDE:
        t, l = int(round((SIDE - ch) / 2.0)), int(round((SIDE - cw) / 2.0))
        A = np.stack([zoom(a[t:t + ch, l:l + cw], (SIDE / ch, SIDE / cw), order=1)[:SIDE, :SIDE] for a in A])
    A = np.clip(A + rng.normal(0.0, 0.001, A.shape), 0, 1)
    if rng.uniform(0, 1) > 0.5:
        A = A[:, ::-1, :]
    if rng.uniform(0, 1) > 0.5:
        A = A[:, :, ::-1]
    ang = float(rng.choice([-15, 0, 15]))
    if ang:
        A = np.stack([rotate(a, ang, reshape=False, order=0, mode="constant", cval=0.0) for a in A])
    return np.clip(A, 0, 1).reshape(-1, D)


def run_dfhl_rs(h, baton, s, data):
    """Yuan, Chen, Huang, Zhang, Zhang & Yu 2024 (Data-free hard-label robustness stealing attack, AAAI), DFHL-RS
    in its HEE query mode as the authors' train.py runs it, scaled to a 64-feature input: no data. Each epoch,
    data generation: latent codes z (DFHL_BATCH x DFHL_NZ, N(0, 1), learned too, lr DFHL_LR_Z) and the generator
    (DFHL_NZ -> 64 ReLU -> 64 sigmoid, kept across epochs, Adam lr DFHL_LR_G, betas (0.5, 0.999) re-created every
    epoch) trained DFHL_NG steps against the clone alone (no query): the KL divergence of the clone's output on the
    standard-augmented images from label-smoothed (DFHL_SMOOTH) random pseudo-labels plus DFHL_LAM times the
    class-diversity loss sum m log10 m of the clone's mean softmax m; the step's batch with the lowest loss goes to
    the memory bank (the authors' code also labels it by the target, for its AE mode only; HEE mode never uses
    those labels, so they are not asked here). Then DFHL_NC clone steps, each on DFHL_BATCH images drawn from the
    bank: standard augmentation, strong augmentation, then the high-entropy examples: x + 0.001 N(0, 1) moved
    DFHL_HEE_STEPS times by DFHL_HEE_LR sign(grad of the clone's prediction entropy), clipped to [0, 1]; those
    asked (one request, labels only). Until EXTRACT_BUDGET queries; the session records the clone's agreement
    (own_model_<queries>) besides the learning substitute's on its queries. (The clone, 64 -> 64 ReLU -> 10 with
    Adam, trained DFHL_C_EPOCHS epochs on every answer so far after each request, and the sizes and step counts
    are ours: the paper's are ResNets, 500 clone steps of 256 queries an epoch.)"""
    rng = s.rng
    C = _Dense(rng, [D, 64, 10], ["relu", None], DFHL_LR)
    G = _Dense(rng, [DFHL_NZ, 64, D], ["relu", "sigmoid"], DFHL_LR_G)
    bank, Xq, yq = [], [], []

    def hee(X):
        x = np.clip(X + 0.001 * rng.normal(0.0, 1.0, X.shape), 0, 1)
        for _ in range(DFHL_HEE_STEPS):
            out, cache = C.forward(x)
            p = _softmax(out)
            lp = np.log(np.maximum(p, 1e-30))
            H = -(p * lp).sum(1, keepdims=True)
            _, gx = C.backward(cache, -p * (lp + H) / len(x))
            x = np.clip(x + DFHL_HEE_LR * np.sign(gx), 0, 1)
        return x
    try:
        while sum(len(v) for v in Xq) + DFHL_BATCH <= EXTRACT_BUDGET:
            z = rng.normal(0.0, 1.0, (DFHL_BATCH, DFHL_NZ))
            opt_g = [0, [np.zeros_like(p) for p in G.P], [np.zeros_like(p) for p in G.P]]
            opt_z = [0, [np.zeros_like(z)], [np.zeros_like(z)]]
            soft = np.full((DFHL_BATCH, 10), DFHL_SMOOTH / 9.0)
            soft[np.arange(DFHL_BATCH), rng.integers(10, size=DFHL_BATCH)] = 1.0 - DFHL_SMOOTH
            best_loss, best_fake = np.inf, None
            for _ in range(DFHL_NG):
                fake, gc = G.forward(z)
                src = _dfhl_std_aug(len(fake), rng)
                out, cc = C.forward(_dfhl_apply(fake, src))
                p = _softmax(out)
                lp = np.log(np.maximum(p, 1e-30))
                m = p.mean(0)
                loss = float((soft * (np.log(soft) - lp)).sum() / len(p)) + DFHL_LAM * float((m * np.log10(m)).sum())
                if loss < best_loss or best_fake is None:
                    best_loss, best_fake = loss, fake.copy()
                gm = (np.log10(np.maximum(m, 1e-30)) + 1.0 / np.log(10.0))[None, :] / len(p)
                g = (p - soft) / len(p) + DFHL_LAM * p * (gm - (gm * p).sum(1, keepdims=True))
                _, ga = C.backward(cc, g)
                gf = np.zeros_like(fake)
                for k in range(len(fake)):
                    ok = src[k] >= 0
                    gf[k, src[k][ok]] = ga[k][ok]
                grads, gz = G.backward(gc, gf)
                _adam_step(G.P, grads, opt_g, DFHL_LR_G, 0.5, 0.999)
                _adam_step([z], [gz], opt_z, DFHL_LR_Z, 0.5, 0.999)
            bank.append(best_fake)
            for _ in range(DFHL_NC):
                if sum(len(v) for v in Xq) + DFHL_BATCH > EXTRACT_BUDGET:
                    break
                Bk = np.concatenate(bank)
                xb = Bk[rng.choice(len(Bk), DFHL_BATCH, replace=len(Bk) < DFHL_BATCH)]
                xb = _dfhl_strong_aug(_dfhl_apply(xb, _dfhl_std_aug(len(xb), rng)), rng)
                xh = hee(xb)
                lab, _ = query(h, baton, s, xh.astype(np.float32), scores=False)
                Xq.append(xh)
                yq.append(np.asarray(lab))
                _ce_fit(C, np.concatenate(Xq), np.concatenate(yq), DFHL_C_EPOCHS, rng)
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = int(sum(len(v) for v in Xq))
    s.meta["own_model"] = lambda Xt: C.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def setup_heldout19_attack(s, data, interleave):
    """The unseen classes of held out 19 (HELDOUT19_ATTACKS). Evasion: the original is a row of the padding split
    (HELDOUT19_ORIG_PAD, offsets 93-101, disjoint from held out 10's to 18's), one per session by session index.
    Success, rows as sent: spsa (an L-inf attack) the first answered query whose label differs from the true label
    within L-inf 0.125 (SPSA_EPS, the dev Square ball: its iterates are inside it by construction; its probes,
    0.01 from the iterate, count only if inside); pixle (an L0 attack) the first answered query whose label differs
    with at most 8 of the 64 values changed (PIXLE_L0, as pointwise, cornersearch, locsearch, sparse-evo and
    scratch); par (an L2 attack) the first answered query whose label differs at L2 <= 1.0 (L2_GOAL, as
    HopSkipJump's). active-mixup and dfhl-rs are extraction: surrogate agreement after 500 / 1,000 / 2,000 queries,
    as jbda and knockoff (both also record their own model's agreement)."""
    s.pace_rows = s.cls in ("spsa", "active-mixup", "dfhl-rs")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT19_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls == "spsa":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels)) if labels[j] != y0 and np.abs(rows[j] - x0).max() <= SPSA_EPS + 1e-6), None)
    elif s.cls == "pixle":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and int((np.abs(rows[j] - x0) > 1e-6).sum()) <= PIXLE_L0), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)


def run_heldout19_attack(h, baton, s, data):
    if s.cls == "active-mixup":
        run_active_mixup(h, baton, s, data)
        return
    if s.cls == "dfhl-rs":
        run_dfhl_rs(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=s.cls != "par")
    try:
        if s.cls == "spsa":
            adv = spsa_attack(ask, x0, y0, s.rng)
        elif s.cls == "pixle":
            adv = pixle_attack(ask, x0, y0, s.rng)
        else:
            adv = par_attack(ask, x0, y0, s.rng)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
        s.meta["final_l0"] = int((np.abs(adv - x0) > 1e-6).sum())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# ---------------------------------------------------------------------------------------------
# Held out 20's unseen attack classes (HELDOUT20_ATTACKS), written from their papers and the authors' code
# (ART 1.20.1 has none of them).
def _margin_logprob(p, y0):
    """The margin loss on log-probabilities (the logits less a constant): the true class's minus the largest other."""
    z = np.log(np.maximum(np.asarray(p, np.float64), 1e-30))
    zo = z.copy()
    zo[:, y0] = -np.inf
    return z[:, y0] - zo.max(1)


def _attacker_digits(data):
    X = np.concatenate([data.rows("knockoff")[0], data.rows("jbda_seed")[0]]).astype(np.float64)
    y = np.concatenate([data.rows("knockoff")[1], data.rows("jbda_seed")[1]]).astype(np.int64)
    return X, y


def tremba_attack(ask, x0, y0, rng, data):
    """Huang & Zhang 2020 (Black-box adversarial attack with transferable model-based embedding, ICLR), TREMBA,
    untargeted, L-inf TREMBA_EPS, score-based, as the authors' code runs it at our scale. Offline: surrogate MLPs
    (TREMBA_SIZES, its "source models") trained on the attacker's own labelled digits (knockoff and jbda_seed
    splits); an encoder (64 -> 64 ReLU -> TREMBA_LATENT) and decoder (TREMBA_LATENT -> 64 ReLU -> 64, eps tanh)
    trained TREMBA_EPOCHS epochs (Adam) so that x + eps tanh(D(E(x))), clipped, fools the surrogates (their margin
    loss max(z_y - max_j!=y z_j, -TREMBA_KAPPA), averaged). Online: the embedding z = E(x0); each iteration
    TREMBA_SAMPLES samples z + sigma e (antithetic pairs of e ~ N(0, I)), decoded, added to x0, clipped, one request
    (scores); the margin loss (log-probabilities) of each; stops when a sample is misclassified; else z moves by
    the NES estimate, z - lr mean(loss e) / sigma (sigma and lr TREMBA_SIGMA and TREMBA_LR times the embedding's
    spread over the attacker's digits). At most TREMBA_BUDGET queries."""
    X, y = _attacker_digits(data)
    surs = []
    for hs in TREMBA_SIZES:
        S = _Dense(rng, [D, *hs, 10], ["relu"] * len(hs) + [None], 1e-3)
        _ce_fit(S, X, y, 30, rng)
        surs.append(S)
    E = _Dense(rng, [D, 64, TREMBA_LATENT], ["relu", None], 1e-3)
    G = _Dense(rng, [TREMBA_LATENT, 64, D], ["relu", None], 1e-3)
    for _ in range(TREMBA_EPOCHS):
        order = rng.permutation(len(X))
        for k in range(0, len(X), 64):
            i = order[k:k + 64]
            xb, yb = X[i], y[i]
            zb, ce = E.forward(xb)
            o, cg = G.forward(zb)
            th = np.tanh(o)
            xa = xb + TREMBA_EPS * th
            inside = (xa > 0) & (xa < 1)
            xa = np.clip(xa, 0, 1)
            gx = np.zeros_like(xa)
            for S in surs:
                out, cs = S.forward(xa)
                zo = out.copy()
                zo[np.arange(len(i)), yb] = -np.inf
                jm = zo.argmax(1)
                m = out[np.arange(len(i)), yb] - out[np.arange(len(i)), jm]
                g = np.zeros_like(out)
                act = m > -TREMBA_KAPPA
                g[np.arange(len(i)), yb] = act
                g[np.arange(len(i)), jm] -= act
                gx += S.backward(cs, g / (len(i) * len(surs)))[1]
            go = gx * inside * TREMBA_EPS * (1 - th * th)
            gG, gz = G.backward(cg, go)
            gE, _ = E.backward(ce, gz)
            G.step(gG)
            E.step(gE)
    spread = float(E.forward(X)[0].std())
    sigma, lr = TREMBA_SIGMA * spread, TREMBA_LR * spread
    x0 = np.asarray(x0, np.float64)
    z = E.forward(x0[None])[0][0]
    used, best = 0, x0
    while used + TREMBA_SAMPLES <= TREMBA_BUDGET:
        e = rng.normal(0.0, 1.0, (TREMBA_SAMPLES // 2, TREMBA_LATENT))
        e = np.concatenate([e, -e])
        Z = z[None] + sigma * e
        rows = np.clip(x0[None] + TREMBA_EPS * np.tanh(G.forward(Z)[0]), 0, 1)
        _, p = ask(rows.astype(np.float32))
        used += len(rows)
        loss = _margin_logprob(p, y0)
        if (loss < 0).any():
            return rows[int(np.argmin(loss))]
        best = rows[int(np.argmin(loss))]
        z = z - lr * (loss[:, None] * e).mean(0) / sigma
    return best


def adba_attack(ask, x0, y0, rng):
    """Wang, Zuo, Huang & Chen 2025 (ADBA: approximation decision boundary approach for black-box adversarial
    attacks, AAAI), as the authors' ADBA.py runs it (ATK_ADBA with binaryM 0, the plain ADBA; the wrapper's
    init_dir 1 and offspring_n 2; tolerance 1e-5): untargeted, label-only, L-inf aim_r ADBA_EPS. The direction v
    starts all +1 with R_max 1; the pixel range is cut into ADBA_OFFSPRING blocks, then each block into halves, level
    by level (an iteration per block of the last level, in order). Each iteration the offspring directions (v with
    one of the new blocks reversed) are asked at x0 + R_max v (clipped; one row a request); those adversarial are
    compared at approximated decision boundaries (ADB, the midpoint of [low, high], starting [0, R_max]): asked in
    turn at x0 + ADB d, dropped when not adversarial (R_min = ADB), R_max = ADB when adversarial (and returned at once
    if ADB <= aim_r); none left: low = ADB; one left: chosen; two: high = ADB; until high - low < 1e-5. v takes the
    chosen block reversal and its R_max. Stops when R_max <= aim_r, at most ADBA_BUDGET queries."""
    x0 = np.asarray(x0, np.float64)
    v = np.ones(D)
    state = dict(rmax=1.0, used=0, best=None)

    def adv(d, r):
        row = np.clip(x0 + r * d, 0, 1)
        lab, _ = ask(row.astype(np.float32)[None])
        state["used"] += 1
        if int(lab[0]) != y0:
            state["best"] = row
            return True
        return False

    def cut(b):
        x1, x2 = b
        out = []
        for i in range(ADBA_OFFSPRING):
            l1 = x1 + (i * (x2 - x1)) // ADBA_OFFSPRING
            l2 = x1 + ((i + 1) * (x2 - x1)) // ADBA_OFFSPRING
            out.append((l1 + 1 if i > 0 else l1, l2))
        return out

    def mutation(blocks):
        offs = []
        for b in blocks:
            d = v.copy()
            d[b[0]:b[1] + 1] *= -1
            offs.append(d)
        rmax = state["rmax"]
        succ = []
        for i, d in enumerate(offs):
            if state["used"] >= ADBA_BUDGET:
                return
            if adv(d, rmax):
                succ.append(i)
        chosen, r_chosen = None, rmax
        if len(succ) == 1:
            chosen = succ[0]
        elif len(succ) > 1:
            low, high = 0.0, rmax
            chosen = succ[0]
            while high - low >= ADBA_TOL:
                adb = (low + high) / 2.0
                keep = []
                for i in succ:
                    if state["used"] >= ADBA_BUDGET:
                        break
                    if adv(offs[i], adb):
                        keep.append(i)
                        chosen, r_chosen = i, adb
                        if adb <= ADBA_EPS:
                            break
                if chosen in keep and r_chosen <= ADBA_EPS or state["used"] >= ADBA_BUDGET:
                    break
                if not keep:
                    low = adb
                elif len(keep) == 1:
                    chosen, r_chosen = keep[0], adb
                    break
                else:
                    high, succ = adb, keep
        if chosen is not None:
            b = blocks[chosen]
            v[b[0]:b[1] + 1] *= -1
            state["rmax"] = r_chosen
    levels = [cut((0, D - 1))]
    mutation(levels[0])
    while state["used"] < ADBA_BUDGET and state["rmax"] > ADBA_EPS:
        nxt = []
        for b in levels[-1]:
            sub = cut(b)
            nxt.extend(sub)
            mutation(sub)
            if state["rmax"] <= ADBA_EPS or state["used"] >= ADBA_BUDGET:
                break
        levels.append(nxt)
    return np.clip(x0 + state["rmax"] * v, 0, 1)


def gea_pca_attack(ask, x0, y0, rng, data):
    """Bhagoji, He, Li & Song 2018 (Practical black-box attacks on deep neural networks using efficient query
    mechanisms, ECCV), the iterative gradient-estimation attack with PCA query reduction (the authors' code: the
    logit loss, two-sided finite differences of delta GEA_DELTA along the top GEA_K principal components of data the
    attacker has, its own knockoff and jbda_seed digits): untargeted, L2, score-based. Each iteration the 2 GEA_K
    probes x +- delta u_j (one request, clipped to [0, 1]) give the loss's gradient in the components' span (the
    loss the true class's log-probability less the largest other's, the logits up to a constant); a fast-gradient
    L2 step x - GEA_ALPHA g / |g|, projected onto the L2 ball of L2_GOAL about x0 and [0, 1]; the iterate asked (one
    row); stops when it is misclassified, at most GEA_BUDGET queries. (GEA_K and GEA_ALPHA are ours: the paper's
    MNIST settings are for 784 pixels.)"""
    X, _ = _attacker_digits(data)
    U = np.linalg.svd(X - X.mean(0), full_matrices=False)[2][:GEA_K]
    x0 = np.asarray(x0, np.float64)
    x, used = x0.copy(), 0
    while used + 2 * GEA_K + 1 <= GEA_BUDGET:
        probes = np.clip(np.concatenate([x[None] + GEA_DELTA * U, x[None] - GEA_DELTA * U]), 0, 1)
        _, p = ask(probes.astype(np.float32))
        used += len(probes)
        L = _margin_logprob(p, y0)
        g = ((L[:GEA_K] - L[GEA_K:]) / (2 * GEA_DELTA)) @ U
        n = np.linalg.norm(g)
        if n > 0:
            x = x - GEA_ALPHA * g / n
        d = x - x0
        nd = np.linalg.norm(d)
        if nd > L2_GOAL:
            x = x0 + d * L2_GOAL / nd
        x = np.clip(x, 0, 1)
        lab, _ = ask(x.astype(np.float32)[None])
        used += 1
        if int(lab[0]) != y0:
            break
    return x


def run_db3kd(h, baton, s, data):
    """Wang 2021 (Zero-shot knowledge distillation from a decision-based black-box model, ICML), DB3KD with data: the
    attacker's natural digits (knockoff and jbda_seed splits), label-only. DB3KD_INIT of them asked (DB3KD_BATCH
    rows a request); then for each of those digits in turn (label c) its sample robustness as the authors'
    SampleDist computes it: for every other class k, the segment to the nearest digit the victim labelled k
    binary-searched for the boundary (DB3KD_STEPS halvings; the 9 segments' midpoints one request), the distance d_k
    the boundary point's from the digit; the soft label softmax(-d / DB3KD_TAU) with d_c = 0 (the nearer a class's
    boundary, the more of its probability; a class with no digit yet gets the largest distance), until the next
    digit's searches would pass EXTRACT_BUDGET; the rest of the budget labels more of its digits (one request). The
    student (64 -> 64 ReLU -> 10) trained DB3KD_EPOCHS epochs on the soft labels and on
    the one-hot labels of the digits without them; the session records its agreement (own_model_<queries>) besides
    the learning substitute's on its queries. (Sizes ours: the paper's students are LeNet5 / AlexNet, and its MBD
    refinement of the distances by further boundary searches is left out.)"""
    rng = s.rng
    Xall, _ = _attacker_digits(data)
    Xall = Xall[rng.permutation(len(Xall))]
    X = Xall[:DB3KD_INIT]
    used = [0]
    lab = []
    soft = {}

    def ask(rows):
        out, _ = query(h, baton, s, np.asarray(rows, np.float32), scores=False)
        used[0] += len(rows)
        return np.asarray(out, np.int64)
    try:
        for k in range(0, len(X), DB3KD_BATCH):
            lab.append(ask(X[k:k + DB3KD_BATCH]))
        lab = np.concatenate(lab)
        for i in range(len(X)):
            c = int(lab[i])
            others = [k for k in range(10) if k != c and (lab == k).any()]
            if not others or used[0] + DB3KD_STEPS * len(others) > EXTRACT_BUDGET:
                break
            tgt = []
            for k in others:
                J = np.flatnonzero(lab == k)
                tgt.append(X[J[np.argmin(np.linalg.norm(X[J] - X[i], axis=1))]])
            tgt = np.asarray(tgt)
            lo, hi = np.zeros(len(others)), np.ones(len(others))
            for _ in range(DB3KD_STEPS):
                mid = (lo + hi) / 2
                out = ask(X[i][None] + mid[:, None] * (tgt - X[i][None]))
                same = out == c
                lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
            dist = hi * np.linalg.norm(tgt - X[i][None], axis=1)
            d = np.full(10, dist.max())
            d[c] = 0.0
            d[others] = dist
            soft[i] = _softmax((-d / DB3KD_TAU)[None])[0]
        rest = EXTRACT_BUDGET - used[0]
        if 0 < rest <= len(Xall) - len(X):   # the budget's last queries: more of its digits labelled
            lab = np.concatenate([lab, ask(Xall[len(X):len(X) + rest])])
            X = Xall[:len(lab)]
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = int(used[0])
    if len(lab) and isinstance(lab, np.ndarray):
        P = np.eye(10)[lab]
        for i, v in soft.items():
            P[i] = v
        S = _Dense(rng, [D, 64, 10], ["relu", None], 1e-3)
        _soft_fit(S, X[:len(lab)], P, DB3KD_EPOCHS, rng)
        s.meta["own_model"] = lambda Xt: S.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def run_maze(h, baton, s, data):
    """Kariyappa, Prakash & Qureshi 2021 (MAZE: data-free model stealing attack using zeroth-order gradient
    estimation, CVPR), scaled to a 64-feature input: no data. A generator G (MAZE_NZ -> 64 ReLU -> 64 sigmoid) and a
    clone C (64 -> 64 ReLU -> 10). Each iteration one generator step: MAZE_N images x = G(z) and, for each, MAZE_M
    random directions u on the unit sphere, x + MAZE_EPS u (clipped), one request of MAZE_N (MAZE_M + 1) rows,
    scores; the disagreement loss L(x) = KL(victim(x) || C(x)) and its gradient by forward differences, (d / m)
    sum_j (L(x + eps u_j) - L(x)) / eps u_j, taken back through G to ascend L (Adam, MAZE_LR_G); then MAZE_NC clone
    steps, each on MAZE_N fresh generated images (one request, scores), C trained MAZE_C_EPOCHS epochs on them and
    an equal sample of the experience-replay memory of every query so far (soft targets); when a generator step no
    longer fits the budget, clone steps until EXTRACT_BUDGET queries. The session records the clone's agreement
    (own_model_<queries>) besides the learning substitute's on its queries. (Sizes, m and step counts ours: the
    paper's are ResNets and budgets of millions of queries.)"""
    rng = s.rng
    G = _Dense(rng, [MAZE_NZ, 64, D], ["relu", "sigmoid"], MAZE_LR_G)
    C = _Dense(rng, [D, 64, 10], ["relu", None], MAZE_LR_C)
    MX, MP = [], []

    def kl(P, X):
        q = _softmax(C.forward(X)[0])
        P = np.maximum(P, 1e-30)
        return (P * (np.log(P) - np.log(np.maximum(q, 1e-30)))).sum(1)

    def used():
        return sum(len(v) for v in MX)
    try:
        while used() + MAZE_N <= EXTRACT_BUDGET:
            if used() + MAZE_N * (MAZE_M + 1) > EXTRACT_BUDGET:   # the budget's last queries: clone steps only
                xb = G.forward(rng.normal(0.0, 1.0, (MAZE_N, MAZE_NZ)))[0]
                _, pb = query(h, baton, s, xb.astype(np.float32), scores=True)
                AX, AP = np.concatenate(MX), np.concatenate(MP)
                j = rng.choice(len(AX), MAZE_N, replace=False)
                MX.append(xb)
                MP.append(np.asarray(pb, np.float64))
                _soft_fit(C, np.concatenate([xb, AX[j]]), np.concatenate([MP[-1], AP[j]]), MAZE_C_EPOCHS, rng)
                continue
            z = rng.normal(0.0, 1.0, (MAZE_N, MAZE_NZ))
            x, cg = G.forward(z)
            u = rng.normal(0.0, 1.0, (MAZE_N, MAZE_M, D))
            u /= np.linalg.norm(u, axis=2, keepdims=True)
            probes = np.clip(x[:, None, :] + MAZE_EPS * u, 0, 1).reshape(-1, D)
            rows = np.concatenate([x, probes])
            _, p = query(h, baton, s, rows.astype(np.float32), scores=True)
            p = np.asarray(p, np.float64)
            MX.append(rows)
            MP.append(p)
            L0 = kl(p[:MAZE_N], x)
            L1 = kl(p[MAZE_N:], probes).reshape(MAZE_N, MAZE_M)
            g = (D / MAZE_M) * (((L1 - L0[:, None]) / MAZE_EPS)[:, :, None] * u).sum(1)
            G.step(G.backward(cg, -g / MAZE_N)[0])
            for _ in range(MAZE_NC):
                if used() + MAZE_N > EXTRACT_BUDGET:
                    break
                xb = G.forward(rng.normal(0.0, 1.0, (MAZE_N, MAZE_NZ)))[0]
                _, pb = query(h, baton, s, xb.astype(np.float32), scores=True)
                pb = np.asarray(pb, np.float64)
                AX, AP = np.concatenate(MX), np.concatenate(MP)
                j = rng.choice(len(AX), MAZE_N, replace=False)
                MX.append(xb)
                MP.append(pb)
                _soft_fit(C, np.concatenate([xb, AX[j]]), np.concatenate([pb, AP[j]]), MAZE_C_EPOCHS, rng)
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = int(used())
    s.meta["own_model"] = lambda Xt: C.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def setup_heldout20_attack(s, data, interleave):
    """The unseen classes of held out 20 (HELDOUT20_ATTACKS). Evasion: the original is a row of the padding split
    (HELDOUT20_ORIG_PAD, offsets 102-110, disjoint from held out 10's to 19's), one per session by session index.
    Success, rows as sent: tremba and adba (L-inf attacks) the first answered query whose label differs from the true
    label within L-inf 0.125 (TREMBA_EPS, ADBA_EPS: the dev Square ball; tremba's rows are inside it by construction,
    adba's count only if inside); gea-pca (an L2 attack) the first answered query whose label differs at L2 <= 1.0
    (L2_GOAL, as HopSkipJump's; its iterates are inside by construction, its probes, 0.01 from an iterate, count only
    if inside). db3kd and maze are extraction: surrogate agreement after 500 / 1,000 / 2,000 queries, as jbda and
    knockoff (both also record their own model's agreement)."""
    s.pace_rows = s.cls in ("tremba", "gea-pca", "db3kd", "maze")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT20_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls in ("tremba", "adba"):
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels)) if labels[j] != y0 and np.abs(rows[j] - x0).max() <= TREMBA_EPS + 1e-6), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)


def run_heldout20_attack(h, baton, s, data):
    if s.cls == "db3kd":
        run_db3kd(h, baton, s, data)
        return
    if s.cls == "maze":
        run_maze(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=s.cls != "adba")
    try:
        if s.cls == "tremba":
            adv = tremba_attack(ask, x0, y0, s.rng, data)
        elif s.cls == "adba":
            adv = adba_attack(ask, x0, y0, s.rng)
        else:
            adv = gea_pca_attack(ask, x0, y0, s.rng, data)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# Held out 21's unseen attack classes (HELDOUT21_ATTACKS), written from their papers and the authors' code
# (ART 1.20.1 has none of them).
class _Spent(Exception):
    """The attack's query budget is spent."""


def zo_adamm_attack(ask, x0, y0, rng):
    """Chen, Liu, Xu, Li, Lin, Hong & Cox 2019 (ZO-AdaMM: zeroth-order adaptive momentum method for black-box
    optimization, NeurIPS), the per-image black-box attack, untargeted, L-inf ZOA_EPS, score-based: minimise
    f(x) = ZOA_C max(log p_y - max_{j != y} log p_j, 0) + ||x - x0||^2 over the ball (and [0, 1]). Each iteration the
    iterate and ZOA_Q probes x + mu u_i (u_i uniform on the unit sphere, clipped to [0, 1]) one request (scores); the
    attack loss's gradient estimated by (d / mu) mean((f(x + mu u_i) - f(x)) u_i) (the distortion's gradient, 2 (x -
    x0), is known); AdaMM: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, v_hat = max(v_hat, v), x <- x - alpha m /
    sqrt(v_hat), projected onto the ball (the sqrt(v_hat)-weighted projection onto a box is the clip). Stops when the
    iterate is misclassified, at most ZOA_BUDGET queries."""
    x0 = np.asarray(x0, np.float64)
    lo, hi = np.maximum(x0 - ZOA_EPS, 0), np.minimum(x0 + ZOA_EPS, 1)
    x = x0.copy()
    m, v, vh = np.zeros(D), np.zeros(D), np.zeros(D)
    used = 0

    def loss(p):
        return ZOA_C * np.maximum(_margin_logprob(p, y0), 0.0)
    while used + ZOA_Q + 1 <= ZOA_BUDGET:
        U = rng.normal(0, 1, (ZOA_Q, D))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        rows = np.concatenate([x[None], np.clip(x[None] + ZOA_MU * U, 0, 1)])
        _, p = ask(rows.astype(np.float32))
        used += len(rows)
        if int(np.argmax(p[0])) != y0:
            return x
        f = loss(p)
        g = D / ZOA_MU * ((f[1:] - f[0])[:, None] * U).mean(0) + 2 * (x - x0)
        m = ZOA_BETA1 * m + (1 - ZOA_BETA1) * g
        v = ZOA_BETA2 * v + (1 - ZOA_BETA2) * g * g
        vh = np.maximum(vh, v)
        x = np.clip(x - ZOA_ALPHA * m / np.sqrt(vh + 1e-12), lo, hi)
    return x


def adv_pso_attack(ask, x0, y0, rng):
    """Mosli, Wright, Yuan & Pan 2020 (They might NOT be giants: crafting black-box adversarial examples using particle
    swarm optimization, ESORICS), AdversarialPSO as the authors' Swarm.py / particle.py run it, untargeted, L-inf
    PSO_EPS (maxChange), score-based, every evaluation one row a request. Fitness: the drop of the true class's
    probability from the original's. The image is cut into blocks of PSO_BLOCK pixels (then halves down to 2, the
    authors' halfsOfN); each block has two directions (+-maxChange); a particle is randomised by taking ceil(blocks /
    particles) untried (block, direction) pairs and adding them to its position; a move is the PSO velocity W v +
    C2 r (particle best - x) + C1 r (swarm best - x) (W 0 for the particle holding the swarm's best, else 1 - queries /
    budget), positions clipped to the ball and [0, 1]. Each iteration every particle moves, then (while untried pairs
    remain) is randomised again; once all are tried, back-tracking undoes each particle's harmful moves from the swarm's
    best (kept if not worse) and the blocks are halved (new particles from the swarm's best). Stops when the swarm's
    best is misclassified, at most PSO_BUDGET queries."""
    x0 = np.asarray(x0, np.float64)
    lo, hi = np.maximum(x0 - PSO_EPS, 0), np.minimum(x0 + PSO_EPS, 1)
    used = [0]

    def fit(x):
        if used[0] >= PSO_BUDGET:
            raise _Spent()
        _, p = ask(x[None].astype(np.float32))
        used[0] += 1
        return base - float(p[0][y0]), p[0]
    _, p0 = ask(x0[None].astype(np.float32))
    used[0] += 1
    base = float(p0[0][y0])
    g = dict(pos=x0.copy(), fit=0.0, prob=p0[0])
    if int(np.argmax(p0[0])) != y0:
        return x0
    levels = [PSO_BLOCK]
    while levels[-1] / 2 >= 2:
        levels.append(int(levels[-1] / 2))

    def blocks(k):
        return [np.array([i * SIDE + j for i in range(a, min(a + k, SIDE)) for j in range(b, min(b + k, SIDE))])
                for a in range(0, SIDE, k) for b in range(0, SIDE, k)]
    lv = dict(level=0, B=blocks(levels[0]))
    iss = {k: [-1, 1] for k in range(len(lv["B"]))}
    rate = int(np.ceil(len(iss) / PSO_PARTICLES))
    flag = [False]

    def better(P, f, pr):
        if f > P["bestfit"]:
            P.update(bestfit=f, best=P["pos"].copy(), bestprob=pr)
        if P["bestfit"] > g["fit"]:
            g.update(fit=P["bestfit"], pos=P["best"].copy(), prob=P["bestprob"])

    def randomize(start, P):
        if len(P["blocks"]) == len(lv["B"]):
            P["blocks"] = {}
        keys = [int(k) for k in rng.choice(list(iss), min(rate, len(iss)), replace=False)] if iss else []
        chosen = {}
        for key in keys:
            if len(chosen) >= rate:
                break
            if not iss.get(key):
                iss.pop(key, None)
                continue
            tried = P["blocks"].setdefault(key, [])
            dirs = [d for d in iss[key] if d not in tried and -d not in tried]
            if not dirs:
                continue
            d = dirs[int(rng.integers(len(dirs)))]
            chosen[key] = d
            tried.append(d)
            iss[key].remove(d)
            if not iss[key]:
                iss.pop(key)
        if not iss:
            flag[0] = True
        if not chosen:
            return
        ind = np.zeros(D)
        for key, d in chosen.items():
            ind[lv["B"][key]] = d * PSO_EPS
        P["pos"] = np.clip(start + ind, lo, hi)
        f, pr = fit(P["pos"])
        P["hist"].append((f - P["fit"], ind))
        P["fit"] = f
        better(P, f, pr)

    def particles(start):
        out = []
        for _ in range(PSO_PARTICLES):
            P = dict(pos=start.copy(), best=start.copy(), bestfit=0.0, bestprob=g["prob"], fit=0.0, vel=np.zeros(D),
                     hist=[], blocks={})
            randomize(start, P)
            out.append(P)
        return out

    def done():
        return int(np.argmax(g["prob"])) != y0
    try:
        swarm = particles(x0)
        while not done():
            for P in swarm:
                W = 0.0 if np.array_equal(P["best"], g["pos"]) else 1.0 - used[0] / PSO_BUDGET
                v = W * np.clip(P["vel"], -PSO_EPS, PSO_EPS) + PSO_C2 * rng.random(D) * (P["best"] - P["pos"]) \
                    + PSO_C1 * rng.random(D) * (g["pos"] - P["pos"])
                P["vel"] = v
                P["pos"] = np.clip(P["pos"] + v, lo, hi)
                f, pr = fit(P["pos"])
                P["hist"].append((f - P["fit"], v))
                P["fit"] = f
                better(P, f, pr)
            if done():
                break
            if flag[0]:
                temp = g["pos"].copy()
                for P in swarm:
                    P["hist"].sort(key=lambda t: t[0], reverse=True)
                    while P["hist"] and P["hist"][-1][0] < 0:
                        _, ind = P["hist"].pop()
                        cand = np.clip(temp - ind, lo, hi)
                        f, pr = fit(cand)
                        if f >= g["fit"]:
                            g.update(fit=f, pos=cand.copy(), prob=pr)
                            temp = cand
                            if done():
                                return g["pos"]
                iss.update({k: [-1, 1] for k in range(len(lv["B"]))})
                if lv["level"] + 1 < len(levels):
                    lv["level"] += 1
                    lv["B"] = blocks(levels[lv["level"]])
                    iss.clear()
                    iss.update({k: [-1, 1] for k in range(len(lv["B"]))})
                    swarm = particles(g["pos"])
                else:
                    for P in swarm:
                        randomize(P["pos"], P)
                flag[0] = False
            else:
                for P in swarm:
                    randomize(P["pos"], P)
    except _Spent:
        pass
    return g["pos"]


def _lowfreq_noise(rng):
    """Guo, Frank & Weinberger's low-frequency sample: N(0, 1) in the top-left LFBA_RATIO of the 2-D DCT (orthonormal),
    zero elsewhere, through the inverse DCT (utils.sample_gaussian_torch)."""
    from scipy.fft import idct
    k = int(SIDE * LFBA_RATIO)
    c = np.zeros((SIDE, SIDE))
    c[:k, :k] = rng.normal(0, 1, (k, k))
    return idct(idct(c, axis=1, norm="ortho"), axis=0, norm="ortho").reshape(D)


def lf_boundary_attack(ask, x0, y0, rng):
    """Guo, Frank & Weinberger 2020 (Low frequency adversarial perturbation, UAI), LF-BA, as the authors'
    boundary_attack_simple.py runs it with perturb mode dct and blended noise: untargeted, label-only, L2. Start:
    uniform noise until misclassified, then LFBA_BLEND halvings of the blend with the original (the least noise still
    misclassified). Each step: the spherical candidate x + s ||x0 - x|| n / ||n|| (n low-frequency noise, s
    LFBA_SPHERICAL, not asked: its success counts as 1 in dct mode), then moved towards the original by the source step
    (its length LFBA_SOURCE ||x0 - x|| plus the spherical step's drift), clipped; that one candidate asked (one row a
    request) and kept if misclassified; every LFBA_EVERY steps the source step is divided by LFBA_ADAPT below 20 %
    success, multiplied above 60 %. Stops when the kept point is within L2_GOAL, at most LFBA_BUDGET queries."""
    x0 = np.asarray(x0, np.float64)
    used = [0]

    def lab(x):
        if used[0] >= LFBA_BUDGET:
            raise _Spent()
        labels, _ = ask(x[None].astype(np.float32))
        used[0] += 1
        return int(labels[0])
    pert = x0.copy()
    try:
        while True:
            z = rng.random(D)
            if lab(z) != y0:
                break
        a_lo, a_hi = 0.0, 1.0
        for _ in range(LFBA_BLEND):
            a = (a_lo + a_hi) / 2
            if lab(a * z + (1 - a) * x0) == y0:
                a_lo = a
            else:
                a_hi = a
        pert = a_hi * z + (1 - a_hi) * x0
        src = LFBA_SOURCE
        succ = []
        while np.linalg.norm(pert - x0) > L2_GOAL:
            n0 = np.linalg.norm(x0 - pert)
            pr = _lowfreq_noise(rng)
            sph = np.clip(pert + LFBA_SPHERICAL * n0 * pr / np.linalg.norm(pr), 0, 1)
            nd = x0 - sph
            nn = np.linalg.norm(nd)
            length = max(src * n0 + (nn - n0), 0.0) / nn
            cand = np.clip(sph + nd * length, 0, 1)
            ok = lab(cand) != y0
            succ.append(ok)
            if ok:
                pert = cand
            if len(succ) == LFBA_EVERY:
                p = float(np.mean(succ))
                src = src / LFBA_ADAPT if p < 0.2 else src * LFBA_ADAPT if p > 0.6 else src
                succ = []
    except _Spent:
        pass
    return pert


def run_aot(h, baton, s, data):
    """Jindal, Goyal, Anand & Arora 2024 (Army of Thieves: enhancing black-box model extraction via ensemble based
    sample selection, WACV), AOT as the authors' aot.py runs it with method qbc (consensus entropy), label-only, at our
    scale: the thief's unlabelled pool is AOT_POOL augmented natural digits (knockoff and jbda_seed splits); a
    validation split (AOT_VAL) and an initial random set (AOT_INIT) labelled by the victim; each of AOT_CYCLES cycles
    trains the committee (AOT_SIZES: five thief MLPs of different shapes, the authors' five architectures, AOT_EPOCHS
    epochs on every label so far) and, but for the last, asks the AOT_ADD pool digits with the highest entropy of the
    members' summed softmax; AOT_BATCH rows a request, 2,000 queries. Records the committee's own agreement (the
    members' summed softmax)."""
    rng = s.rng
    X, _ = _attacker_digits(data)
    pool = np.stack([augment(X[int(rng.integers(len(X)))], rng, 0.02) for _ in range(AOT_POOL)]).astype(np.float64)
    order = rng.permutation(len(pool))
    asked = list(order[:AOT_VAL + AOT_INIT])
    rest = np.asarray(order[AOT_VAL + AOT_INIT:])
    labels = []
    committee = []

    def ask(idx):
        for k in range(0, len(idx), AOT_BATCH):
            lab, _ = query(h, baton, s, pool[idx[k:k + AOT_BATCH]].astype(np.float32), scores=False)
            labels.extend(int(v) for v in lab)
    try:
        ask(asked)
        for cycle in range(AOT_CYCLES):
            committee = []
            Xl, yl = pool[asked[:len(labels)]], np.asarray(labels, np.int64)
            for hs in AOT_SIZES:
                M = _Dense(rng, [D, *hs, 10], ["relu"] * len(hs) + [None], 1e-3)
                _ce_fit(M, Xl, yl, AOT_EPOCHS, rng, AOT_TRAIN_BATCH)
                committee.append(M)
            if cycle == AOT_CYCLES - 1 or len(labels) >= EXTRACT_BUDGET:
                break
            P = sum(_softmax(M.forward(pool[rest])[0]) for M in committee)
            P = P / P.sum(1, keepdims=True)
            H = -(P * np.log(np.maximum(P, 1e-12))).sum(1)
            pick_ = np.argsort(H, kind="stable")[::-1][:min(AOT_ADD, EXTRACT_BUDGET - len(labels))]
            new = list(rest[pick_])
            rest = np.delete(rest, pick_)
            asked += new
            ask(new)
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = len(labels)
    if committee:
        C = list(committee)
        s.meta["own_model"] = lambda Xt: sum(_softmax(M.forward(np.asarray(Xt, np.float64))[0]) for M in C).argmax(1)


def run_ls_retrain(h, baton, s, data):
    """Tramer, Zhang, Juels, Reiter & Ristenpart 2016 (Stealing machine learning models via prediction APIs, USENIX
    Security), line-search retraining (their label-only extraction of non-linear models): LSR_INIT inputs uniform at
    random in [0, 1]^64 labelled (one request); then, until EXTRACT_BUDGET queries, LSR_PAIRS pairs of labelled points
    with different labels (uniform points again, a request of them, while every label so far is the same), each
    segment searched for the decision boundary by LSR_STEPS halvings asked of the API (the LSR_PAIRS midpoints of a
    halving one request, labels only); every asked point is kept with its label, and the substitute (the harness's
    agreement substitute, retrained on all of them) is the stolen model."""
    rng = s.rng
    Xs, Ls = [], []

    def ask(rows):
        lab, _ = query(h, baton, s, np.asarray(rows, np.float32), scores=False)
        Xs.extend(np.asarray(rows, np.float64))
        Ls.extend(int(v) for v in lab)
        return np.asarray(lab, np.int64)
    try:
        ask(rng.random((LSR_INIT, D)))
        while len(Ls) < EXTRACT_BUDGET:
            L = np.asarray(Ls)
            if len(np.unique(L)) < 2:
                ask(rng.random((min(LSR_INIT, EXTRACT_BUDGET - len(Ls)), D)))
                continue
            n = min(LSR_PAIRS, (EXTRACT_BUDGET - len(Ls)))
            A, B, la = np.zeros((n, D)), np.zeros((n, D)), np.zeros(n, np.int64)
            for k in range(n):
                i = int(rng.integers(len(L)))
                js = np.flatnonzero(L != L[i])
                j = int(js[int(rng.integers(len(js)))])
                A[k], B[k], la[k] = Xs[i], Xs[j], L[i]
            for _ in range(LSR_STEPS):
                if len(Ls) + n > EXTRACT_BUDGET:
                    break
                M = (A + B) / 2
                lm = ask(M)
                same = lm == la
                A[same] = M[same]
                B[~same] = M[~same]
    except Refused as e:
        s.meta["stopped_by"] = str(e)


def setup_heldout21_attack(s, data, interleave):
    """The unseen classes of held out 21 (HELDOUT21_ATTACKS). Evasion: the original is a row of the padding split
    (HELDOUT21_ORIG_PAD, offsets 111-119, disjoint from held out 10's to 20's), one per session by session index.
    Success, rows as sent: zo-adamm and adv-pso (L-inf attacks) the first answered query whose label differs from the
    true label within L-inf 0.125 (ZOA_EPS, PSO_EPS: the dev Square ball; adv-pso's rows and zo-adamm's iterates are
    inside it by construction, zo-adamm's probes, 0.005 from an iterate, count only if inside); lf-boundary (an L2
    attack) the first answered query whose label differs at L2 <= 1.0 (L2_GOAL, as HopSkipJump's). aot and ls-retrain
    are extraction: surrogate agreement after 500 / 1,000 / 2,000 queries, as jbda and knockoff (aot also records its
    committee's agreement)."""
    s.pace_rows = s.cls in ("zo-adamm", "aot", "ls-retrain")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT21_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls in ("zo-adamm", "adv-pso"):
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels)) if labels[j] != y0 and np.abs(rows[j] - x0).max() <= ZOA_EPS + 1e-6), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)


def run_heldout21_attack(h, baton, s, data):
    if s.cls == "aot":
        run_aot(h, baton, s, data)
        return
    if s.cls == "ls-retrain":
        run_ls_retrain(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=s.cls != "lf-boundary")
    try:
        if s.cls == "zo-adamm":
            adv = zo_adamm_attack(ask, x0, y0, s.rng)
        elif s.cls == "adv-pso":
            adv = adv_pso_attack(ask, x0, y0, s.rng)
        else:
            adv = lf_boundary_attack(ask, x0, y0, s.rng)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# Held out 22's unseen attack classes (HELDOUT22_ATTACKS), written from their papers and the authors' code
# (ART 1.20.1 has none of them).
class _Found(Exception):
    """An attack's candidate is misclassified."""

    def __init__(self, x):
        super().__init__("found")
        self.x = x


def deepsearch_attack(ask, x0, y0, rng):
    """Zhang, Chowdhury & Christakis 2020 (DeepSearch: a simple and effective blackbox attack for deep neural
    networks, ESEC/FSE), untargeted, L-inf DS_EPS, score-based: the search stays on the vertices of the ball (every
    pixel at x0 - eps or x0 + eps, clipped to [0, 1]), starting with every pixel at its upper end (ours); the
    pixels in square groups (DS_GROUPS: 4 x 4, then 2 x 2, then single pixels: the paper's hierarchical grouping,
    refined after each pass); a pass tries the groups in random order, each candidate the current image with one
    group flipped to the other end (one row a request), kept when it lowers the margin loss (log-probabilities).
    Passes at the finest size repeat; stops when a candidate is misclassified, at most DS_BUDGET queries."""
    x0 = np.asarray(x0, np.float64)
    lo, hi = np.maximum(x0 - DS_EPS, 0), np.minimum(x0 + DS_EPS, 1)
    x = hi.copy()
    used = [0]

    def loss(c):
        _, p = ask(c[None].astype(np.float32))
        used[0] += 1
        if int(np.argmax(p[0])) != y0:
            raise _Found(c)
        return float(_margin_logprob(p, y0)[0])
    try:
        best = loss(x)
        level = 0
        while used[0] < DS_BUDGET:
            k = DS_GROUPS[min(level, len(DS_GROUPS) - 1)]
            groups = [np.array([i * SIDE + j for i in range(a, a + k) for j in range(b, b + k)])
                      for a in range(0, SIDE, k) for b in range(0, SIDE, k)]
            for g in rng.permutation(len(groups)):
                if used[0] >= DS_BUDGET:
                    break
                G = groups[g]
                c = x.copy()
                c[G] = np.where(x[G] >= hi[G], lo[G], hi[G])
                f = loss(c)
                if f < best:
                    x, best = c, f
            level += 1
    except _Found as e:
        return e.x
    return x


def tiling_es_attack(ask, x0, y0, rng):
    """Meunier, Atif & Teytaud 2019 (Yet another but more efficient black-box adversarial attack: tiling and
    evolution strategies, arXiv:1910.02244), untargeted, L-inf TES_EPS, score-based: the perturbation eps tanh(z)
    lives on a tiling (TES_TILE x TES_TILE pixels a tile: 16 variables for the 8x8 input), z searched by their
    (1+1)-ES with the one-fifth rule (sigma doubled on an improvement, times 2^-1/4 otherwise, as Nevergrad's
    OnePlusOne), the margin loss on log-probabilities its objective; every candidate one row a request; stops when
    a candidate is misclassified, at most TES_BUDGET queries."""
    x0 = np.asarray(x0, np.float64)
    n = SIDE // TES_TILE

    def img(z):
        return np.clip(x0 + TES_EPS * np.tanh(np.kron(z.reshape(n, n), np.ones((TES_TILE, TES_TILE))).reshape(D)),
                       0, 1)
    used = [0]

    def loss(z):
        c = img(z)
        _, p = ask(c[None].astype(np.float32))
        used[0] += 1
        if int(np.argmax(p[0])) != y0:
            raise _Found(c)
        return float(_margin_logprob(p, y0)[0])
    z = np.zeros(n * n)
    sigma = TES_SIGMA
    try:
        f = loss(z)
        while used[0] < TES_BUDGET:
            z2 = z + sigma * rng.normal(0, 1, n * n)
            f2 = loss(z2)
            if f2 <= f:
                z, f = z2, f2
                sigma *= 2.0
            else:
                sigma *= 2.0 ** -0.25
    except _Found as e:
        return e.x
    return img(z)


def zo_admm_attack(ask, x0, y0, rng):
    """Zhao, Liu, Chen & Lin 2019 (On the design of black-box adversarial examples by leveraging gradient-free
    optimization and operator splitting method, ICCV), ZO-ADMM, untargeted, L2, score-based: min over delta, z of
    ZADMM_C max(margin(x0 + z), 0) + ZADMM_GAMMA ||delta||^2 (plus the box x0 + delta in [0, 1]) subject to
    z = delta, by ADMM with the linearised z-step: delta <- argmin of gamma ||delta||^2 + rho / 2 ||delta - z +
    u / rho||^2 (closed form, clipped to the box); z <- (rho (delta + u / rho) + eta z - g) / (rho + eta), g the
    random gradient estimate of the attack loss at x0 + z from ZADMM_Q directions uniform on the sphere (step mu;
    x0 + z and its probes one request, scores); u <- u + rho (delta - z). Stops when x0 + z or x0 + delta is
    misclassified (x0 + delta checked with the next request), at most ZADMM_BUDGET queries."""
    x0 = np.asarray(x0, np.float64)
    dl, z, u = np.zeros(D), np.zeros(D), np.zeros(D)
    rho, eta, used = ZADMM_RHO, ZADMM_ETA, 0
    while used + ZADMM_Q + 2 <= ZADMM_BUDGET:
        dl = np.clip(rho * (z - u / rho) / (2 * ZADMM_GAMMA + rho), -x0, 1 - x0)
        U = rng.normal(0, 1, (ZADMM_Q, D))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        base = np.clip(x0 + z, 0, 1)
        rows = np.concatenate([(x0 + dl)[None], base[None], np.clip(base[None] + ZADMM_MU * U, 0, 1)])
        _, p = ask(rows.astype(np.float32))
        used += len(rows)
        if int(np.argmax(p[0])) != y0:
            return x0 + dl
        if int(np.argmax(p[1])) != y0:
            return base
        f = ZADMM_C * np.maximum(_margin_logprob(p[1:], y0), 0.0)
        g = D / ZADMM_MU * ((f[1:] - f[0])[:, None] * U).mean(0)
        z = (rho * (dl + u / rho) + eta * z - g) / (rho + eta)
        u = u + rho * (dl - z)
    return x0 + dl


def run_dfal(h, baton, s, data):
    """Pal, Gupta, Shukla, Kanade, Shevade & Ganapathy 2020 (ActiveThief: model extraction using active learning
    and unannotated public data, AAAI), its DFAL strategy (Ducoffe & Precioso 2018, Adversarial active learning
    for deep networks: a margin based approach): label-only; the thief's unlabelled pool is DFAL_POOL augmented
    natural digits (knockoff and jbda_seed splits); a random initial set (DFAL_ROUND) labelled; each round the
    substitute (64 ReLU -> 10, DFAL_EPOCHS epochs on every label so far) and, for every unlabelled pool digit,
    DeepFool's distance to its decision boundary; the DFAL_ROUND digits closest to the boundary asked; DFAL_BATCH
    rows a request, 2,000 queries. Records the substitute's own agreement."""
    rng = s.rng
    X, _ = _attacker_digits(data)
    pool = np.stack([augment(X[int(rng.integers(len(X)))], rng, 0.02) for _ in range(DFAL_POOL)]).astype(np.float64)
    order = rng.permutation(len(pool))
    asked = list(order[:DFAL_ROUND])
    rest = np.asarray(order[DFAL_ROUND:])
    labels = []
    sub = None

    def ask(idx):
        for k in range(0, len(idx), DFAL_BATCH):
            lab, _ = query(h, baton, s, pool[idx[k:k + DFAL_BATCH]].astype(np.float32), scores=False)
            labels.extend(int(v) for v in lab)
    try:
        ask(asked)
        while True:
            sub = _Dense(rng, [D, 64, 10], ["relu", None], 1e-3)
            _ce_fit(sub, pool[asked[:len(labels)]], np.asarray(labels, np.int64), DFAL_EPOCHS, rng)
            if len(labels) >= EXTRACT_BUDGET:
                break
            dist = _deepfool_dist(sub, pool[rest], DFAL_DF_ITERS)
            pick_ = np.argsort(dist, kind="stable")[:min(DFAL_ROUND, EXTRACT_BUDGET - len(labels))]
            new = list(rest[pick_])
            rest = np.delete(rest, pick_)
            asked += new
            ask(new)
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = len(labels)
    if sub is not None:
        S = sub
        s.meta["own_model"] = lambda Xt: S.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def run_noise_theft(h, baton, s, data):
    """Roberts, Prabhu & McAteer 2019 (Model weight theft with just noise inputs: the curious case of the petulant
    attacker, arXiv:1912.08987): extraction with noise inputs only: every query a noise image (each request one
    noise kind in turn, ours for the [0, 1] input: uniform, Gaussian N(0.5, 0.25) clipped, Bernoulli(0.2) salt), the
    victim's probability vectors asked; a student (64 ReLU -> 10) distilled on them (cross-entropy on the soft
    targets, NT_EPOCHS epochs) once all are in; NT_BATCH rows a request, 2,000 queries. Records the student's own
    agreement."""
    rng = s.rng
    Xs, Ps = [], []
    try:
        k = 0
        while len(Xs) < EXTRACT_BUDGET:
            n = min(NT_BATCH, EXTRACT_BUDGET - len(Xs))
            kind = k % 3
            rows = rng.random((n, D)) if kind == 0 else np.clip(rng.normal(0.5, 0.25, (n, D)), 0, 1) if kind == 1 \
                else (rng.random((n, D)) < 0.2).astype(np.float64)
            _, p = query(h, baton, s, rows.astype(np.float32), scores=True)
            Xs.extend(rows)
            Ps.extend(np.asarray(p, np.float64))
            k += 1
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = len(Xs)
    if Xs:
        S = _Dense(rng, [D, 64, 10], ["relu", None], 1e-3)
        _soft_fit(S, np.asarray(Xs), np.asarray(Ps), NT_EPOCHS, rng)
        s.meta["own_model"] = lambda Xt: S.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def setup_heldout22_attack(s, data, interleave):
    """The unseen classes of held out 22 (HELDOUT22_ATTACKS). Evasion: the original is a row of the padding split
    (HELDOUT22_ORIG_PAD, offsets 120-128, disjoint from held out 10's to 21's), one per session by session index.
    Success, rows as sent: deepsearch and tiling-es (L-inf attacks) the first answered query whose label differs from
    the true label within L-inf 0.125 (DS_EPS, TES_EPS: the dev Square ball; every row inside by construction);
    zo-admm (an L2 attack) the first answered query whose label differs at L2 <= 1.0 (L2_GOAL, as HopSkipJump's).
    dfal and noise-theft are extraction: surrogate agreement after 500 / 1,000 / 2,000 queries, as jbda and knockoff
    (both also record their own model's agreement)."""
    s.pace_rows = s.cls in ("zo-admm", "dfal", "noise-theft")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT22_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls in ("deepsearch", "tiling-es"):
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels)) if labels[j] != y0 and np.abs(rows[j] - x0).max() <= DS_EPS + 1e-6), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)


def run_heldout22_attack(h, baton, s, data):
    if s.cls == "dfal":
        run_dfal(h, baton, s, data)
        return
    if s.cls == "noise-theft":
        run_noise_theft(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=True)
    try:
        if s.cls == "deepsearch":
            adv = deepsearch_attack(ask, x0, y0, s.rng)
        elif s.cls == "tiling-es":
            adv = tiling_es_attack(ask, x0, y0, s.rng)
        else:
            adv = zo_admm_attack(ask, x0, y0, s.rng)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# Held out 23's unseen attack classes (HELDOUT23_ATTACKS), written from their papers (ART 1.20.1 has none of them; the
# authors' code was not at hand offline: what is ours is said in each docstring).
def hlbo_attack(ask, x0, y0, rng):
    """Shukla, Sahu, Willmott & Kolter 2021 (Simple and efficient hard label black-box adversarial attacks in low query
    budget regimes, KDD), the hard-label Bayesian optimisation attack: label-only, L2, untargeted: OPT's reformulation
    (Cheng et al. 2019) of the search as the minimisation of g(theta), the distance from x0 to the decision boundary
    along the direction theta, done by Bayesian optimisation in a low-dimensional space (theta in [-1, 1]^16: a 4 x 4
    direction upsampled by nearest neighbour to 8x8, the paper's reduced dimension). g is evaluated by queries: a
    first query at the best distance so far (or 1.0 at the start), grown by 1.5 until the label differs (at most
    HLBO_GROW times; a direction that never flips is scored at the last distance tried, ours), then a binary search
    down to HLBO_TOL; rows clipped to the box, g the L2 distance of the boundary point as sent. A GP (Matern 5/2,
    hyper-parameters refitted every HLBO_REFIT evaluations) on every theta evaluated; HLBO_INIT random thetas, then
    each evaluation the expected-improvement maximiser over HLBO_CANDS uniform and HLBO_LOCAL Gaussian (0.2) moves
    of the 5 best. One row a request; stops once a boundary point is within L2_GOAL, at most HLBO_BUDGET queries."""
    from scipy.stats import norm
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
    x0 = np.asarray(x0, np.float64)
    dim = HLBO_LOW * HLBO_LOW
    up = SIDE // HLBO_LOW
    used = [0]
    best = [None, None]        # (g, point)

    def adv(lam, d):
        p = np.clip(x0 + lam * d, 0, 1)
        lab, _ = ask(p[None].astype(np.float32))
        used[0] += 1
        if used[0] >= HLBO_BUDGET:
            raise _Spent()
        return int(lab[0]) != y0, p

    def g(theta):
        d = np.kron(theta.reshape(HLBO_LOW, HLBO_LOW), np.ones((up, up))).reshape(D)
        d = d / max(np.linalg.norm(d), 1e-12)
        lam = best[0] if best[0] is not None else 1.0
        lo, hi, pt = 0.0, None, None
        for _ in range(HLBO_GROW + 1):
            ok, p = adv(lam, d)
            if ok:
                hi, pt = lam, p
                break
            lo, lam = lam, lam * 1.5
        if hi is None:
            return float(np.linalg.norm(np.clip(x0 + lo * d, 0, 1) - x0))
        while hi - lo > HLBO_TOL:
            mid = (lo + hi) / 2
            ok, p = adv(mid, d)
            if ok:
                hi, pt = mid, p
            else:
                lo = mid
        val = float(np.linalg.norm(pt - x0))
        if best[0] is None or val < best[0]:
            best[0], best[1] = val, pt
        return val
    Z, Y = [], []
    kernel = ConstantKernel(1.0) * Matern(length_scale=1.0, nu=2.5) + WhiteKernel(1e-3)
    try:
        for _ in range(HLBO_INIT):
            z = rng.uniform(-1, 1, dim)
            Z.append(z)
            Y.append(g(z))
            if best[0] is not None and best[0] <= L2_GOAL:
                return best[1]
        while True:
            refit = len(Z) % HLBO_REFIT == 0 or len(Z) == HLBO_INIT
            gp = GaussianProcessRegressor(kernel, normalize_y=True, optimizer="fmin_l_bfgs_b" if refit else None,
                                          random_state=int(rng.integers(2**31))).fit(np.array(Z), np.array(Y))
            kernel = gp.kernel_
            top = np.array(Z)[np.argsort(Y)[:5]]
            C = np.vstack([rng.uniform(-1, 1, (HLBO_CANDS, dim)),
                           np.clip(top[rng.integers(len(top), size=HLBO_LOCAL)] + rng.normal(0, 0.2, (HLBO_LOCAL, dim)),
                                   -1, 1)])
            mu, sd = gp.predict(C, return_std=True)
            sd = np.maximum(sd, 1e-9)
            imp = min(Y) - mu
            ei = imp * norm.cdf(imp / sd) + sd * norm.pdf(imp / sd)
            z = C[int(np.argmax(ei))]
            Z.append(z)
            Y.append(g(z))
            if best[0] is not None and best[0] <= L2_GOAL:
                return best[1]
    except _Spent:
        pass
    return best[1] if best[1] is not None else x0


def brusle_attack(ask, x0, y0, rng):
    """Vo, Abbasnejad & Ranasinghe 2024 (BruSLeAttack: a query-efficient score-based black-box sparse adversarial
    attack, ICLR): score-based, L0, untargeted: the adversarial image takes BRUSLE_K of its 64 values from a synthetic
    image (uniform random, drawn once) and the rest from x0; the set of replaced pixels searched by sampling: each
    iteration a number of them (BRUSLE_ALPHA of the set, halved on Sparse-RS's schedule rescaled to the budget; at
    least one) swapped for pixels drawn from a categorical whose probabilities are a draw from a Dirichlet over the
    pixels (the paper's Bayesian model of pixel influence), the candidate kept when the margin loss (log-probabilities)
    falls; the Dirichlet's concentration raised by one for the pixels of every accepted swap and decayed towards
    one (BRUSLE_DECAY) for those of a rejected one (ours). One row a request; stops at the first misclassified query,
    at most BRUSLE_BUDGET queries."""
    x0 = np.asarray(x0, np.float64)
    xs = rng.random(D)
    alpha = np.ones(D)
    S = rng.choice(D, BRUSLE_K, replace=False)
    marks = [int(round(m * BRUSLE_BUDGET / 10000)) for m in (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)]

    def img(S):
        x = x0.copy()
        x[S] = xs[S]
        return x
    used = [0]

    def loss(S):
        c = img(S)
        _, p = ask(c[None].astype(np.float32))
        used[0] += 1
        if int(np.argmax(p[0])) != y0:
            raise _Found(c)
        return float(_margin_logprob(p, y0)[0])
    try:
        best = loss(S)
        while used[0] < BRUSLE_BUDGET:
            h = sum(used[0] >= m for m in marks)
            m = max(1, int(round(BRUSLE_ALPHA * BRUSLE_K / 2 ** h)))
            theta = rng.dirichlet(alpha)
            out = rng.choice(len(S), m, replace=False)
            rest = np.setdiff1d(np.arange(D), S)
            pr = theta[rest] / theta[rest].sum()
            inn = rng.choice(rest, m, replace=False, p=pr)
            S2 = S.copy()
            S2[out] = inn
            f = loss(S2)
            if f < best:
                S, best = S2, f
                alpha[inn] += 1.0
            else:
                alpha[inn] = 1.0 + (alpha[inn] - 1.0) * BRUSLE_DECAY
    except _Found as e:
        return e.x
    return img(S)


def zo_ngd_attack(ask, x0, y0, rng):
    """Zhao, Chen, Wang & Lin 2020 (Towards query-efficient black-box adversarial attack via zeroth-order natural
    gradient descent, AAAI), ZO-NGD: score-based, L-inf ZNGD_EPS, untargeted: the C&W margin loss on log-probabilities;
    each iteration the iterate and ZNGD_Q probes along random directions uniform on the sphere (step ZNGD_MU) one
    request; from the same answers the loss's gradient and every class's log-probability gradient estimated by
    forward differences, the Fisher information matrix F = sum_c p_c g_c g_c^T (the paper's estimate from the
    queries already made, no more asked) damped by ZNGD_DAMP times its mean diagonal, and the natural gradient
    F^-1 g taken as the step direction (scaled to an L-inf step of ZNGD_LR, ours), projected onto the ball and the
    box. Stops when the iterate is misclassified, at most ZNGD_BUDGET queries."""
    x0 = np.asarray(x0, np.float64)
    lo, hi = np.maximum(x0 - ZNGD_EPS, 0), np.minimum(x0 + ZNGD_EPS, 1)
    x = x0.copy()
    used = 0
    while used + ZNGD_Q + 1 <= ZNGD_BUDGET:
        U = rng.normal(0, 1, (ZNGD_Q, D))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        rows = np.concatenate([x[None], np.clip(x[None] + ZNGD_MU * U, 0, 1)])
        _, p = ask(rows.astype(np.float32))
        used += len(rows)
        if int(np.argmax(p[0])) != y0:
            return x
        lp = np.log(np.maximum(np.asarray(p, np.float64), 1e-30))
        f = _margin_logprob(p, y0)
        scale = D / (ZNGD_MU * ZNGD_Q)
        gvec = scale * ((f[1:] - f[0])[:, None] * U).sum(0)
        G = scale * np.einsum("jc,jd->cd", lp[1:] - lp[0], U)
        p0 = np.asarray(p[0], np.float64)
        F = (G.T * p0) @ G
        F += (ZNGD_DAMP * np.trace(F) / D + 1e-9) * np.eye(D)
        d = np.linalg.solve(F, gvec)
        x = np.clip(x - ZNGD_LR * d / max(np.abs(d).max(), 1e-12), lo, hi)
    return x


def run_spsg(h, baton, s, data):
    """Zhao, Deng, Liu, Pei, Xia & Chen 2024 (Fully exploiting every real sample: superpixel sample gradient model
    stealing, CVPR), SPSG: score-based extraction from few real samples (the attacker's knockoff and jbda_seed digits,
    in random order): each sample's superpixels (SPSG_SP segments by SLIC-style k-means on position and intensity, ours
    for the 8x8 input), each superpixel perturbed SPSG_M times by uniform noise of +-SPSG_EPS on its pixels (the
    paper's superpixel gradient querying); a sample and its probes one request (scores); the sample gradient
    purification keeps the superpixels whose finite-difference estimates vary least (below the sample's median
    variance, ours); the student (64 ReLU -> 10) trained on the samples' probability vectors (soft cross-entropy) and
    on the kept probes' output differences p(x + delta) - p(x) (squared error, weight SPSG_BETA), SPSG_EPOCHS epochs
    once all are in; 2,000 queries (the last sample with as many superpixels as the budget leaves). Records the
    student's own agreement."""
    rng = s.rng
    X, _ = _attacker_digits(data)
    order = rng.permutation(len(X))
    Xr, Pr, A, B, Dv = [], [], [], [], []
    used = 0
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    try:
        for i in order:
            nsp = min(SPSG_SP, (EXTRACT_BUDGET - used - 1) // SPSG_M)   # the last sample: as many as the budget allows
            if nsp < 1:
                break
            x = X[i].astype(np.float64)
            feat = np.stack([yy.ravel() / SIDE, xx.ravel() / SIDE, x * 0.5], 1)
            cent = feat[rng.choice(D, SPSG_SP, replace=False)]
            for _ in range(5):
                lab_ = ((feat[:, None] - cent[None]) ** 2).sum(-1).argmin(1)
                cent = np.stack([feat[lab_ == k].mean(0) if (lab_ == k).any() else cent[k] for k in range(SPSG_SP)])
            probes, seg = [], []
            for k in range(nsp):
                mask = (lab_ == k).astype(np.float64)
                for _ in range(SPSG_M):
                    probes.append(np.clip(x + mask * rng.uniform(-SPSG_EPS, SPSG_EPS, D), 0, 1))
                    seg.append(k)
            rows = np.vstack([x[None], np.asarray(probes)])
            _, p = query(h, baton, s, rows.astype(np.float32), scores=True)
            used += len(rows)
            p = np.asarray(p, np.float64)
            Xr.append(x)
            Pr.append(p[0])
            seg = np.asarray(seg)
            diffs = p[1:] - p[0]
            var = np.array([diffs[seg == k].var(0).sum() if (seg == k).sum() > 1 else 0.0 for k in range(nsp)])
            keep = var <= np.median(var)
            for j in range(len(probes)):
                if keep[seg[j]]:
                    A.append(x)
                    B.append(rows[1 + j])
                    Dv.append(diffs[j])
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = used
    if not Xr:
        return
    S = _Dense(rng, [D, 64, 10], ["relu", None], 1e-3)
    Xr, Pr = np.asarray(Xr), np.asarray(Pr)
    A, B, Dv = np.asarray(A).reshape(-1, D), np.asarray(B).reshape(-1, D), np.asarray(Dv).reshape(-1, 10)
    for _ in range(SPSG_EPOCHS):
        _soft_fit(S, Xr, Pr, 1, rng)
        o = rng.permutation(len(A))
        for k in range(0, len(A), 64):
            j = o[k:k + 64]
            za, ca = S.forward(A[j])
            zb, cb = S.forward(B[j])
            pa, pb = _softmax(za), _softmax(zb)
            r = 2 * SPSG_BETA * ((pb - pa) - Dv[j]) / len(j)
            gb = pb * (r - (r * pb).sum(1, keepdims=True))
            ga = pa * (-r - (-r * pa).sum(1, keepdims=True))
            g1, _ = S.backward(cb, gb)
            g2, _ = S.backward(ca, ga)
            S.step([u + v for u, v in zip(g1, g2)])
    s.meta["own_model"] = lambda Xt: S.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def run_badge(h, baton, s, data):
    """Ash, Zhang, Krishnamurthy, Langford & Agarwal 2020 (Deep batch active learning by diverse, uncertain gradient
    lower bounds, ICLR), BADGE, as a model-extraction thief (active learning as extraction: Chandrasekaran, Chaudhuri,
    Giacomelli, Jha & Yan 2020, Exploring connections between active learning and model extraction, USENIX
    Security; the ActiveThief framework of Pal et al. 2020): label-only; the thief's unlabelled pool is BADGE_POOL
    augmented natural digits (knockoff and jbda_seed splits); a random initial BADGE_ROUND labelled; each round the
    substitute (64 ReLU -> 10, BADGE_EPOCHS epochs on every label so far), every unlabelled digit's hallucinated
    gradient embedding (the last layer's gradient of the cross-entropy at the substitute's own label: (p - onehot)
    outer [hidden, 1]), and the BADGE_ROUND digits chosen by k-means++ seeding on them (the first the largest norm)
    asked; BADGE_BATCH rows a request, 2,000 queries. Records the substitute's own agreement."""
    rng = s.rng
    X, _ = _attacker_digits(data)
    pool = np.stack([augment(X[int(rng.integers(len(X)))], rng, 0.02) for _ in range(BADGE_POOL)]).astype(np.float64)
    order = rng.permutation(len(pool))
    asked = list(order[:BADGE_ROUND])
    rest = np.asarray(order[BADGE_ROUND:])
    labels = []
    sub = None

    def ask(idx):
        for k in range(0, len(idx), BADGE_BATCH):
            lab, _ = query(h, baton, s, pool[idx[k:k + BADGE_BATCH]].astype(np.float32), scores=False)
            labels.extend(int(v) for v in lab)
    try:
        ask(asked)
        while True:
            sub = _Dense(rng, [D, 64, 10], ["relu", None], 1e-3)
            _ce_fit(sub, pool[asked[:len(labels)]], np.asarray(labels, np.int64), BADGE_EPOCHS, rng)
            if len(labels) >= EXTRACT_BUDGET:
                break
            out, cache = sub.forward(pool[rest])
            P = _softmax(out)
            hid = np.hstack([np.maximum(cache[1][0], 0.0), np.ones((len(rest), 1))])
            R = P.copy()
            R[np.arange(len(rest)), P.argmax(1)] -= 1.0
            E = (R[:, :, None] * hid[:, None, :]).reshape(len(rest), -1)
            n = min(BADGE_ROUND, EXTRACT_BUDGET - len(labels))
            chosen = [int(np.argmax((E ** 2).sum(1)))]
            d2 = ((E - E[chosen[0]]) ** 2).sum(1)
            while len(chosen) < n:
                pr = d2 / d2.sum() if d2.sum() > 0 else np.full(len(d2), 1 / len(d2))
                c = int(rng.choice(len(E), p=pr))
                chosen.append(c)
                d2 = np.minimum(d2, ((E - E[c]) ** 2).sum(1))
                d2[chosen] = 0.0
            chosen = np.asarray(chosen)
            new = list(rest[chosen])
            rest = np.delete(rest, chosen)
            asked += new
            ask(new)
    except Refused as e:
        s.meta["stopped_by"] = str(e)
    s.meta["own_queries"] = len(labels)
    if sub is not None:
        S = sub
        s.meta["own_model"] = lambda Xt: S.forward(np.asarray(Xt, np.float64))[0].argmax(1)


def setup_heldout23_attack(s, data, interleave):
    """The unseen classes of held out 23 (HELDOUT23_ATTACKS). Evasion: the original is a row of the padding split
    (HELDOUT23_ORIG_PAD, offsets 129-137, disjoint from held out 10's to 22's), one per session by session index.
    Success, rows as sent: hlbo (an L2 attack) the first answered query whose label differs from the true label at
    L2 <= 1.0 (L2_GOAL, as HopSkipJump's); brusle (an L0 attack) the first answered query whose label differs with at
    most BRUSLE_K = 8 of the 64 values changed (as cornersearch and pointwise; every row by construction); zo-ngd (an
    L-inf attack) the first answered query whose label differs within L-inf 0.125 (ZNGD_EPS, the dev Square ball).
    spsg and badge are extraction: surrogate agreement after 500 / 1,000 / 2,000 queries, as jbda and knockoff (both
    also record their own model's agreement)."""
    s.pace_rows = s.cls in ("zo-ngd", "spsg", "badge")
    if s.cls in EXTRACTION:
        return
    X, y = data.rows("padding")
    offs = HELDOUT23_ORIG_PAD[s.cls]
    o = offs[s.index % len(offs)]
    x0, y0 = X[o], int(y[o])
    s.meta.update(x0=x0, y=y0, original=int(data.idx["padding"][o]))
    if s.cls == "hlbo":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and np.linalg.norm(rows[j] - x0) <= L2_GOAL + 1e-6), None)
    elif s.cls == "brusle":
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels))
             if labels[j] != y0 and int((np.abs(rows[j] - x0) > 1e-6).sum()) <= BRUSLE_K), None)
    else:
        s.check = lambda rows, labels: next(
            (j for j in range(len(labels)) if labels[j] != y0 and np.abs(rows[j] - x0).max() <= ZNGD_EPS + 1e-6), None)


def run_heldout23_attack(h, baton, s, data):
    if s.cls == "spsg":
        run_spsg(h, baton, s, data)
        return
    if s.cls == "badge":
        run_badge(h, baton, s, data)
        return
    x0, y0 = s.meta["x0"], s.meta["y"]

    def ask(rows):
        return query(h, baton, s, rows, scores=True)

    def ask_labels(rows):
        return query(h, baton, s, rows, scores=False)
    try:
        if s.cls == "hlbo":
            adv = hlbo_attack(ask_labels, x0, y0, s.rng)
        elif s.cls == "brusle":
            adv = brusle_attack(ask, x0, y0, s.rng)
        else:
            adv = zo_ngd_attack(ask, x0, y0, s.rng)
        s.meta["final_l2"] = float(np.linalg.norm(adv - x0))
        s.meta["final_linf"] = float(np.abs(adv - x0).max())
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# ---------------------------------------------------------------------------------------------
# Extraction.
def substitute():
    return MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=0)


def jacobian_sign(sub, X, labels):
    """sign of d logit_label / d x for an sklearn ReLU MLP with one hidden layer."""
    W1, W2 = sub.coefs_
    b1 = sub.intercepts_[0]
    mask = (X @ W1 + b1) > 0                             # [n, h]
    cls = list(sub.classes_)
    out = np.zeros_like(X)
    for i, l in enumerate(labels):
        if l in cls:
            out[i] = (mask[i] * W2[:, cls.index(l)]) @ W1.T
        else:   # a class the substitute has not seen yet: a random direction
            out[i] = np.random.choice([-1.0, 1.0], size=X.shape[1])
    return np.sign(out)


def run_jbda(h, baton, s, data):
    """Papernot et al. 2017 (Practical Black-Box Attacks), Algorithm 1: an initial set of seed
    images; each substitute epoch rho, train the substitute on the oracle's labels, then
    S_{rho+1} = S_rho U { x + lambda_rho * sign(J_F(x)[O(x)]) : x in S_rho }, with lambda = 0.1 and
    its sign flipped every tau = 3 epochs (their periodic step size). Label-only. 125 seeds and
    four doublings make exactly 2,000 oracle queries. Queries go 50 rows a request (40 requests)."""
    X, _ = data.rows("jbda_seed")
    seeds = X[s.rng.choice(len(X), 125, replace=False)]
    S = np.zeros((0, D), np.float32)
    L = np.zeros(0, np.int64)
    new = seeds
    rho = 0
    try:
        while True:
            labels = []
            for k in range(0, len(new), 50):
                lab, _ = query(h, baton, s, new[k:k + 50], scores=False)
                labels.append(lab)
            S = np.concatenate([S, new])
            L = np.concatenate([L, np.concatenate(labels)])
            if len(S) >= EXTRACT_BUDGET:
                break
            sub = substitute().fit(S, L)
            lam = 0.1 * (-1) ** (rho // 3)
            new = np.clip(S + lam * jacobian_sign(sub, S, L), 0, 1).astype(np.float32)
            new = new[:EXTRACT_BUDGET - len(S)]
            rho += 1
    except Refused as e:
        s.meta["stopped_by"] = str(e)


class Thief(ScikitlearnClassifier):
    """ART's sklearn wrapper, minus the Keras-style fit arguments KnockoffNets passes."""

    def fit(self, x, y, **kwargs):
        return super().fit(x, y)


def run_knockoff(h, baton, s, data):
    """Knockoff Nets (Orekondy et al. 2019) with ART's KnockoffNets, random strategy: 2,000
    natural-looking digits (held-out sklearn digits, each a shifted / rescaled / noisy variant),
    50 rows a request, the full probability vector asked for (as the paper's attacker does)."""
    X, _ = data.rows("knockoff")
    nat = np.stack([augment(X[int(s.rng.integers(len(X)))], s.rng, 0.02) for _ in range(EXTRACT_BUDGET)])
    thief = Thief(substitute())
    try:
        k = KnockoffNets(remote(h, baton, s, True), batch_size_fit=64, batch_size_query=50,
                         nb_epochs=1, nb_stolen=EXTRACT_BUDGET, sampling_strategy="random",
                         use_probability=False, verbose=False)
        k.extract(nat, thieved_classifier=thief)
        s.meta["art_thief"] = thief
    except Refused as e:
        s.meta["stopped_by"] = str(e)


# ---------------------------------------------------------------------------------------------
# Plan.
def plan(counts, data, seed):
    sessions = []
    keys = []
    n = 0
    for cls, count in counts.items():
        for i in range(count):
            n += 1
            name = f"{cls}-{i:02d}"
            nk = {"square-sybil": 5, "square-spread": 3, "hsj-linf-spread": 3, "copycat": COPYCAT_KEYS,
                  "signhunter-rotate": ROT_KEYS, "ripper-sybil": RIPPER_SYBIL_KEYS,
                  "es-blend": ES_BLEND_KEYS}.get(cls, 1)
            ks = [(f"fieldkey-{name}-{j}", f"{name}" + (f"/{j}" if nk > 1 else "")) for j in range(nk)]
            keys.extend(ks)
            # A session's randomness follows from its name, so adding a class changes no other.
            s = Session(name, cls, ks, int.from_bytes(hashlib.sha256(f"{seed}/{name}".encode()).digest()[:6], "little"))
            s.slot = (SLOT_BASE.get(cls, 0) + i) % 40
            s.index = i
            if cls == "padded":
                s.kind = PADDED_KINDS[i % len(PADDED_KINDS)]
            if cls in INTERLEAVED:
                s.kind = INTERLEAVED[cls]
            sessions.append(s)
    return sessions, keys


def padder(s, data):
    # The attacker's natural data: every held-out digit it has (700), in a shuffled cycle so an
    # image comes back as late as possible; each use rescaled by U(0.9, 1.1) with +-0.008 jitter,
    # so no padding row repeats another exactly (no shifts: a shifted digit is now and then
    # out-of-distribution, and padding should fire nothing).
    X = np.concatenate([data.rows(k)[0] for k in ("padding", "knockoff", "jbda_seed")])
    order = []

    def row():
        if not order:
            order.extend(s.rng.permutation(len(X)).tolist())
        x = np.clip(X[order.pop()] * s.rng.uniform(0.9, 1.1), 0, 1)
        return jitter(x, s.rng)

    def pad(n):
        return np.stack([row() for _ in range(64)])
    return pad


def coverer(s, data):
    """Cover traffic of an interleaved attacker: its own natural digits (the 700 held-out digits
    the padded attacker also has), like a dev benign client: each request one row (12 %: a batch
    of 2-6), a row being a new image (a shuffled walk), 12 % a re-send of an earlier cover row,
    14 % with N(0, 0.02) noise, 14 % shifted by one pixel."""
    X = np.concatenate([data.rows(k)[0] for k in ("padding", "knockoff", "jbda_seed")])
    order = []
    sent = []

    def row():
        u = s.rng.random()
        if u < 0.12 and sent:
            return sent[int(s.rng.integers(len(sent)))].copy()
        if not order:
            order.extend(s.rng.permutation(len(X)).tolist())
        x = X[order.pop()]
        u = s.rng.random()
        if u < 0.14:
            x = np.clip(x + s.rng.normal(0, 0.02, D), 0, 1).astype(np.float32)
        elif u < 0.28:
            x = shift(x, s.rng)
        return x

    def cover():
        n = int(s.rng.integers(2, 7)) if s.rng.random() < 0.12 else 1
        rows = np.stack([row() for _ in range(n)])
        sent.extend(rows)
        return rows
    return cover


def run_all(args, data, counts, seed):
    sessions, keys = plan(counts, data, seed)
    os.makedirs(args.out, exist_ok=True)
    server = Server(args.modelsec, args.ort, args.out, keys, data.rows("baseline")[0], args.extra_config,
                    args.preset)
    log(f"modelsec serve on {server.url} (log {server.log})")
    h = Http(server.url)
    t0 = time.time()
    try:
        # Phase 1: benign clients, all at once (interleaved).
        benign = [s for s in sessions if s.cls.startswith("benign")]
        pool, _ = data.rows("shared_pool")
        shared = [s for s in benign if s.cls == "benign-shared"]
        # Pool size: about send_target sends per image. Expected pool rows per session: mean
        # requests x mean rows per request x (1 - re-send share); with the dev habits 60 x 1.36 x
        # 0.88 = 71.8.
        if "pool_size" in HAB:
            size = int(min(len(pool), HAB["pool_size"]))
        else:
            per = mean_requests() * (1 + HAB["batch_p"] * (np.mean(HAB["batch"]) - 1.5)) \
                * (1 - HAB["resend"])
            size = int(min(len(pool), max(10, round(len(shared) * per / HAB["send_target"]))))
        pool = pool[:size]
        # Popularity: a few images much more popular than the rest (weight 1/(rank + pool_rank)).
        w = 1.0 / (np.arange(size) + HAB["pool_rank"])
        w /= w.sum()
        shared_counts = np.zeros(size, np.int64)
        priv, _ = data.rows("private")
        for s in shared:
            s.meta["weights"] = w
        for k, s in enumerate(s for s in benign if s.cls == "benign-private"):
            s.meta["pool"] = priv[(k * 30) % len(priv):(k * 30) % len(priv) + 30]
            s.meta["weights"] = np.full(30, 1 / 30)
        if "personas" in HAB:
            # One health-check / warm-up sample digit for every client: the shared pool's least
            # popular image. Ambiguous images: the lowest top-two margins of the served model.
            sample = pool[size - 1].copy()
            amb_shared = ambiguous_subset(pool)
            for s in benign:
                s.meta["health_sample"] = sample
                s.meta["ambiguous"] = amb_shared if s.cls == "benign-shared" else ambiguous_subset(s.meta["pool"])
        log(f"phase 1: {len(benign)} benign sessions (shared pool of {size} images)")

        def benign_body(s):
            if "personas23" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout23(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas22" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout22(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas21" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout21(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas20" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout20(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas19" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout19(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas18" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout18(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas17" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout17(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas16" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout16(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas15" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout15(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas14" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout14(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas13" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout13(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas12" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout12(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas11" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout11(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas10" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout10(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                     shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas9" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout9(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                    shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas8" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout8(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                    shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas7" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout7(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                    shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas6" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout6(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                    shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas5" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout5(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                    shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas4" in HAB:
                shared_pool = s.cls == "benign-shared"
                run_benign_heldout4(h, baton, s, pool if shared_pool else s.meta["pool"], s.meta.pop("weights"),
                                    shared_counts if shared_pool else np.zeros(30, np.int64))
            elif "personas" in HAB:
                if s.cls == "benign-shared":
                    run_benign_personas(h, baton, s, pool, s.meta.pop("weights"), shared_counts, True)
                else:
                    run_benign_personas(h, baton, s, s.meta["pool"], s.meta.pop("weights"),
                                        np.zeros(30, np.int64), False)
            elif s.cls == "benign-shared":
                run_benign(h, baton, s, pool, shared_counts)
            else:
                run_benign(h, baton, s, s.meta["pool"], np.zeros(30, np.int64))
        baton = Baton()
        baton.run(benign, benign_body)
        pool_stats = {"images": size, "sends_mean": float(shared_counts.mean()) if size else 0,
                      "sends_median": float(np.median(shared_counts)) if size else 0,
                      "sends_max": int(shared_counts.max()) if size else 0,
                      "images_sent_11_or_more": int((shared_counts >= 11).sum())}
        log(f"  benign done in {time.time() - t0:.0f} s; pool sends {pool_stats}")

        # Phase 2: attacks, all at once (interleaved).
        attacks = [s for s in sessions if not s.cls.startswith("benign")]
        for s in attacks:
            if s.kind in EVASION:
                setup_evasion(s, data, s.slot)
            if s.cls == "square-jitter":
                s.jitter = True
            if s.cls == "padded":
                s.pad = padder(s, data)
            if s.cls in INTERLEAVED:
                s.cover = coverer(s, data)
                s.interleave = args.interleave
            if s.cls in HELDOUT_EVASION:
                setup_heldout_attack(s, data, args.interleave)
            if s.cls in HELDOUT5_EVASION:
                setup_heldout5_attack(s, data, args.interleave)
            if s.cls in HELDOUT6_ATTACKS:
                setup_heldout6_attack(s, data, args.interleave)
            if s.cls in HELDOUT7_ATTACKS:
                setup_heldout7_attack(s, data, args.interleave)
            if s.cls in HELDOUT8_ATTACKS:
                setup_heldout8_attack(s, data, args.interleave)
            if s.cls in HELDOUT9_ATTACKS:
                setup_heldout9_attack(s, data, args.interleave)
            if s.cls in HELDOUT10_ATTACKS:
                setup_heldout10_attack(s, data, args.interleave)
            if s.cls in HELDOUT11_ATTACKS:
                setup_heldout11_attack(s, data, args.interleave)
            if s.cls in HELDOUT12_ATTACKS:
                setup_heldout12_attack(s, data, args.interleave)
            if s.cls in HELDOUT13_ATTACKS:
                setup_heldout13_attack(s, data, args.interleave)
            if s.cls in HELDOUT14_ATTACKS:
                setup_heldout14_attack(s, data, args.interleave)
            if s.cls in HELDOUT15_ATTACKS:
                setup_heldout15_attack(s, data, args.interleave)
            if s.cls in HELDOUT16_ATTACKS:
                setup_heldout16_attack(s, data, args.interleave)
            if s.cls in HELDOUT17_ATTACKS:
                setup_heldout17_attack(s, data, args.interleave)
            if s.cls in HELDOUT18_ATTACKS:
                setup_heldout18_attack(s, data, args.interleave)
            if s.cls in HELDOUT19_ATTACKS:
                setup_heldout19_attack(s, data, args.interleave)
            if s.cls in HELDOUT20_ATTACKS:
                setup_heldout20_attack(s, data, args.interleave)
            if s.cls in HELDOUT21_ATTACKS:
                setup_heldout21_attack(s, data, args.interleave)
            if s.cls in HELDOUT22_ATTACKS:
                setup_heldout22_attack(s, data, args.interleave)
            if s.cls in HELDOUT23_ATTACKS:
                setup_heldout23_attack(s, data, args.interleave)
        log(f"phase 2: {len(attacks)} attack sessions")
        t1 = time.time()

        def attack_body(s):
            if s.kind in EVASION:
                run_evasion(h, baton, s)
            elif s.kind == "jbda":
                run_jbda(h, baton, s, data)
            elif s.kind == "knockoff":
                run_knockoff(h, baton, s, data)
            elif s.kind in HELDOUT_EVASION:
                run_heldout_attack(h, baton, s)
            elif s.kind in HELDOUT5_EVASION:
                run_heldout5_attack(h, baton, s)
            elif s.kind in HELDOUT6_ATTACKS:
                run_heldout6_attack(h, baton, s, data)
            elif s.kind in HELDOUT7_ATTACKS:
                run_heldout7_attack(h, baton, s, data)
            elif s.kind in HELDOUT8_ATTACKS:
                run_heldout8_attack(h, baton, s, data)
            elif s.kind in HELDOUT9_ATTACKS:
                run_heldout9_attack(h, baton, s, data)
            elif s.kind in HELDOUT10_ATTACKS:
                run_heldout10_attack(h, baton, s, data)
            elif s.kind in HELDOUT11_ATTACKS:
                run_heldout11_attack(h, baton, s, data)
            elif s.kind in HELDOUT12_ATTACKS:
                run_heldout12_attack(h, baton, s, data)
            elif s.kind in HELDOUT13_ATTACKS:
                run_heldout13_attack(h, baton, s, data)
            elif s.kind in HELDOUT14_ATTACKS:
                run_heldout14_attack(h, baton, s, data)
            elif s.kind in HELDOUT15_ATTACKS:
                run_heldout15_attack(h, baton, s, data)
            elif s.kind in HELDOUT16_ATTACKS:
                run_heldout16_attack(h, baton, s, data)
            elif s.kind in HELDOUT17_ATTACKS:
                run_heldout17_attack(h, baton, s, data)
            elif s.kind in HELDOUT18_ATTACKS:
                run_heldout18_attack(h, baton, s, data)
            elif s.kind in HELDOUT19_ATTACKS:
                run_heldout19_attack(h, baton, s, data)
            elif s.kind in HELDOUT20_ATTACKS:
                run_heldout20_attack(h, baton, s, data)
            elif s.kind in HELDOUT21_ATTACKS:
                run_heldout21_attack(h, baton, s, data)
            elif s.kind in HELDOUT22_ATTACKS:
                run_heldout22_attack(h, baton, s, data)
            elif s.kind in HELDOUT23_ATTACKS:
                run_heldout23_attack(h, baton, s, data)
        baton = Baton()
        baton.run(attacks, attack_body)
        log(f"  attacks done in {time.time() - t1:.0f} s; {h.sent} requests in all")
    finally:
        time.sleep(0.2)
        server.stop()
    return sessions, server, pool_stats, time.time() - t0


# ---------------------------------------------------------------------------------------------
# Reading the log back.
def read_log(path):
    files = sorted(p for p in os.listdir(os.path.dirname(path))
                   if p.startswith(os.path.basename(path) + "."))
    events = []
    for f in files + [os.path.basename(path)]:
        with open(os.path.join(os.path.dirname(path), f)) as fh:
            for line in fh:
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    events.sort(key=lambda e: e["seq"])
    return events


def correlate(sessions, events):
    """Per session: the log's request events for its keys, in seq order, one for one with the
    requests the harness sent; then each finding placed at its request."""
    by_client = collections.defaultdict(list)
    findings = collections.defaultdict(list)
    for e in events:
        cid = (e.get("client") or {}).get("id")
        if e["kind"] == "request":
            by_client[cid].append(e)
        elif e["kind"] == "finding" and cid is not None:
            findings[cid].append(e)
    problems = []
    for s in sessions:
        clients = [c for _, c in s.keys]
        evs = sorted((e for c in clients for e in by_client.get(c, [])), key=lambda e: e["seq"])
        key_client = dict(s.keys)
        ok = len(evs) == len(s.requests) and all(
            key_client[r["key"]] == e["client"]["id"] and r["bytes"] == e["request"]["bytes"]
            and r["status"] == e["request"]["status"]
            for r, e in zip(s.requests, evs))
        if not ok:
            problems.append(f"{s.name}: {len(evs)} request events vs {len(s.requests)} requests sent, or they differ")
        pos = {e["request"]["id"]: i for i, e in enumerate(evs)}
        s.findings = []
        for c in clients:
            for f in findings.get(c, []):
                i = pos.get(f["request"]["id"])
                s.findings.append((i if i is not None else 10**9, f))
        s.findings.sort(key=lambda t: (t[0], t[1]["seq"]))
        # Cross-check: the first request event with signals is the first finding's request.
        first_sig = next((i for i, e in enumerate(evs) if e.get("signals")), None)
        if s.findings and first_sig != s.findings[0][0]:
            problems.append(f"{s.name}: first finding at request {s.findings[0][0]}, first signals at {first_sig}")
        s.correlated = ok
        s.signal_requests = collections.Counter(sig for e in evs for sig in e.get("signals", []))
    return problems


# ---------------------------------------------------------------------------------------------
# Offline measures.
def victim():
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(MODEL, so, providers=["CPUExecutionProvider"])
    return lambda X: sess.run(["label"], {"X": np.asarray(X, np.float32)})[0]


def ambiguous_subset(X):
    """Indices of the rows of X nearest the served model's decision boundary: the HAB
    `ambiguous_frac` share (at least one) with the smallest gap between the top two class
    probabilities."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(MODEL, so, providers=["CPUExecutionProvider"])
    P = np.asarray(sess.run(["probabilities"], {"X": np.asarray(X, np.float32)})[0], np.float32)
    top = np.sort(P, axis=1)
    margin = top[:, -1] - top[:, -2]
    n = max(1, int(round(HAB["ambiguous_frac"] * len(X))))
    return np.argsort(margin, kind="stable")[:n]


def agreement(s, data, oracle):
    Xt = data.rows("test")[0]
    yt = oracle(Xt)
    out = {}
    if not s.labelled:
        return out
    A = np.concatenate([r for r, _ in s.labelled])
    L = np.concatenate([l for _, l in s.labelled])
    # Padding rows came with labels too; a padded attacker trains on them as well.
    P = np.concatenate([r for r, _ in s.padding_labelled]) if s.padding_labelled else np.zeros((0, D))
    PL = np.concatenate([l for _, l in s.padding_labelled]) if s.padding_labelled else np.zeros(0, np.int64)
    per_req = [len(r) for r, _ in s.labelled]
    for cp in CHECKPOINTS:
        if len(A) < cp:
            continue
        Xtr, ytr = A[:cp], L[:cp]
        if len(P):
            nreq = int(np.searchsorted(np.cumsum(per_req), cp) + 1)
            Xtr = np.concatenate([Xtr, P[:64 * nreq]])
            ytr = np.concatenate([ytr, PL[:64 * nreq]])
        sub = substitute().fit(Xtr, ytr)
        out[str(cp)] = float((sub.predict(Xt) == yt).mean())
    if "art_thief" in s.meta:
        out["art_knockoff_2000"] = float((s.meta.pop("art_thief").predict(Xt).argmax(1) == yt).mean())
    if "own_model" in s.meta:   # held out 15's cryptanalytic, 16's dast and dfms: the attacker's own model
        out[f"own_model_{s.meta.get('own_queries')}"] = float((s.meta.pop("own_model")(Xt) == yt).mean())
    return out


def projection():
    """The server's PRADA projection (src/monitor/detect.rs `Projection::new(64, 0x9d5a_11ce)`):
    splitmix64, Box-Muller in f32, 32 x 64 Gaussian / sqrt(32)."""
    state = 0x9D5A11CE
    M = (1 << 64) - 1

    def nxt():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & M
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return z ^ (z >> 31)

    def unit():
        return np.float32(nxt() >> 40) / np.float32(1 << 24)
    k = 32
    scale = np.float32(1.0) / np.sqrt(np.float32(k))
    w = []
    while len(w) < D * k:
        u1, u2 = max(unit(), np.float32(1e-7)), unit()
        r = np.sqrt(np.float32(-2.0) * np.log(u1))
        a = np.float32(2 * np.pi) * u2
        w.append(r * np.cos(a) * scale)
        w.append(r * np.sin(a) * scale)
    return np.asarray(w[:D * k], np.float32).reshape(k, D)


PROJ = None


def prada_server(rows, labels, min_queries=100, threshold=0.9):
    """PRADA as the server's `Prada::observe` (src/monitor/detect/prada.rs) runs it, on the
    projected rows of every request: a query at distance 0 from the growing set (a re-send) is
    skipped. Since round 2 of issue 16 the server also leaves out rows that are near duplicates
    of the client's remembered queries (src/monitor/detect/engine.rs); this replay does not, so
    it shows PRADA on all of a client's distinct queries (an upper bound on what the server's
    PRADA sees: benign sessions below 0.9 here need not fire on the server); at most 1,024 growing-set points per client. Returns the lowest
    Shapiro-Wilk W over its checks and the first query at which W < threshold. For explaining
    what the log does not say (a session's W when it did not fire)."""
    global PROJ
    from scipy.stats import shapiro
    if PROJ is None:
        PROJ = projection()
    # Project each distinct row once: BLAS may round the same row differently at different
    # positions of a matrix, and a re-sent row must land exactly on its first copy (distance 0),
    # as it does on the server.
    uniq, inv = np.unique(np.asarray(rows, np.float32), axis=0, return_inverse=True)
    P = (uniq @ PROJ.T)[inv.ravel()]
    sets, thr, cd = {}, {}, {}
    kept = 0
    dists = collections.deque(maxlen=1000)
    wmin, first = None, None
    q = 0
    for x, c in zip(P, labels):
        c = int(c)
        G = sets.setdefault(c, [])
        d = float(np.min(np.sqrt(((np.asarray(G) - x) ** 2).sum(1)))) if G else None
        if d == 0.0:
            continue
        q += 1
        if d is not None:
            dists.append(d)
            t = thr.setdefault(c, 0.0)
            if d > t and kept < 1024:
                G.append(x)
                kept += 1
                v = cd.setdefault(c, collections.deque(maxlen=1000))
                v.append(d)
                thr[c] = max(t, float(np.mean(v) - np.std(v)))
        elif kept < 1024:
            G.append(x)
            kept += 1
        if q < max(min_queries, 10) or q % 10 or len(dists) < 50:
            continue
        v = np.asarray(dists)
        v = v[np.abs(v - v.mean()) <= 3 * v.std()]
        if len(v) < 3 or v.std() == 0:
            continue
        w = float(shapiro(v).statistic)
        wmin = w if wmin is None else min(wmin, w)
        if first is None and w < threshold:
            first = q
    return {"w_min": wmin, "first_below_0_9": first}


def result(s, data, oracle):
    reqs = s.requests
    r = {"session": s.name, "class": s.cls, "attack": s.kind, "clients": [c for _, c in s.keys],
         "requests": len(reqs), "rows": int(sum(q["rows"] for q in reqs)), "queries": s.queries,
         "status": dict(collections.Counter(str(q["status"]) for q in reqs)),
         "correlated": s.correlated, "error": s.error}
    flagged = bool(s.findings)
    r["flagged"] = flagged
    per_signal = collections.OrderedDict()
    for i, f in s.findings:
        sid = f["signal"]["id"]
        if sid not in per_signal:
            q = reqs[i] if i < len(reqs) else None
            per_signal[sid] = {"request": i, "query": (q["queries_before"] + q["attack_rows"]) if q else None,
                               "message": f.get("message"), "evidence": f.get("evidence")}
    r["signals"] = per_signal
    r["signal_requests"] = dict(s.signal_requests)
    if flagged:
        i0 = s.findings[0][0]
        q = reqs[i0]
        r["alert"] = {"request": i0, "query": q["queries_before"] + q["attack_rows"], "requests": i0 + 1,
                      "signals": sorted({f["signal"]["id"] for i, f in s.findings if i == i0})}
    else:
        r["alert"] = None
    if s.cover is not None:
        s.meta["cover_requests"] = s.cover_requests
        s.meta["interleave"] = s.interleave
    meta = {k: v for k, v in s.meta.items() if isinstance(v, (int, float, str))}
    r["meta"] = meta
    if s.kind in EVASION or s.kind in HELDOUT_EVASION or s.kind in HELDOUT5_EVASION or s.kind in HELDOUT6_EVASION \
            or s.kind in HELDOUT7_EVASION or s.kind in HELDOUT8_EVASION or s.kind in HELDOUT9_EVASION \
            or s.kind in HELDOUT10_EVASION or s.kind in HELDOUT11_EVASION or s.kind in HELDOUT12_EVASION \
            or s.kind in HELDOUT13_EVASION or s.kind in HELDOUT14_EVASION or s.kind in HELDOUT15_EVASION \
            or s.kind in HELDOUT16_EVASION or s.kind in HELDOUT17_EVASION or s.kind in HELDOUT18_EVASION \
            or s.kind in HELDOUT19_EVASION or s.kind in HELDOUT20_EVASION or s.kind in HELDOUT21_EVASION \
            or s.kind in HELDOUT22_EVASION or s.kind in HELDOUT23_EVASION:
        r["success"] = s.success
        r["caught_before_success"] = (flagged and (s.success is None or r["alert"]["request"] <= s.success["request"]))
    if s.kind in EXTRACTION:
        r["agreement"] = agreement(s, data, oracle)
    if s.seen:
        r["prada_replica"] = prada_server(np.concatenate([x for x, _ in s.seen]),
                                          np.concatenate([l for _, l in s.seen]))
        ev = (per_signal.get("monitor/extraction") or {}).get("evidence") or {}
        if "shapiro_w" in ev:
            # The replica must fire where the server did (evidence.queries: rows PRADA had seen).
            r["prada_replica"]["matches_server"] = ev.get("queries") == r["prada_replica"]["first_below_0_9"]
    return r


# ---------------------------------------------------------------------------------------------
# Summary.
def med(v):
    v = [x for x in v if x is not None]
    return None if not v else float(np.median(v))


def fmt(v, nd=0):
    if v is None:
        return "—"
    return f"{v:.{nd}f}"


def summary(results, meta):
    lines = []

    def nm(r):
        return r["session"] + (f"@{r['seed']}" if len(meta["seeds"]) > 1 else "")
    classes = list(dict.fromkeys(r["class"] for r in results))
    lines.append(f"Run: {meta['when']}, binary `{meta['modelsec']}`, seed(s) {', '.join(map(str, meta['seeds']))}, "
                 f"{meta['requests']} requests in {meta['seconds']:.0f} s, client habits {meta.get('habits', 'dev')}, "
                 f"preset {meta.get('preset', 'log (default)')}"
                 + (f", interleave {meta['interleave']}" if any((c in INTERLEAVED or c in ("square-spread", "simba-cover-jitter", "hsj-linf-spread")) and n for c, n in meta["counts"].items()) else "")
                 + (", QUICK" if meta["quick"] else "") + ".")
    lines.append("")
    lines.append("| class | sessions | flagged | first alert by | queries to first alert: median (min–max) "
                 "| requests to first alert: median (min–max) "
                 "| attack succeeded | first success query: median | caught before success | extraction agreement 500 / 1,000 / 2,000 |")
    lines.append("|---|---:|---:|---|---|---|---:|---:|---:|---|")
    for c in classes:
        rs = [r for r in results if r["class"] == c]
        fl = [r for r in rs if r["flagged"]]
        by = collections.Counter(s for r in fl for s in r["alert"]["signals"])
        aq = [r["alert"]["query"] for r in fl]
        alert = "—" if not aq else f"{fmt(med(aq))} ({min(aq)}–{max(aq)})"
        ar = [r["alert"]["request"] + 1 for r in fl]
        alert_req = "—" if not ar else f"{fmt(med(ar))} ({min(ar)}–{max(ar)})"
        succ = caught = sq = "—"
        ev = [r for r in rs if "success" in r]
        if ev:
            ok = [r for r in ev if r["success"]]
            succ = f"{len(ok)}/{len(ev)}"
            sq = fmt(med([r["success"]["query"] for r in ok]))
            cb = [r for r in ok if r["caught_before_success"]]
            caught = f"{len(cb)}/{len(ok)}"
        agr = "—"
        ex = [r for r in rs if "agreement" in r]
        if ex:
            cells = []
            for cp in CHECKPOINTS:
                v = [r["agreement"].get(str(cp)) for r in ex if r["agreement"].get(str(cp)) is not None]
                cells.append("—" if not v else (f"{100 * min(v):.0f}–{100 * max(v):.0f} %" if len(v) > 1 else f"{100 * v[0]:.0f} %"))
            agr = " / ".join(cells)
        first = ", ".join(f"{k.split('/')[-1]} {v}" for k, v in by.most_common()) or "—"
        lines.append(f"| {c} | {len(rs)} | {len(fl)}/{len(rs)} | {first} | {alert} | {alert_req} | "
                     f"{succ} | {sq} | {caught} | {agr} |")
    lines.append("")
    lines.append("Answers per class (what the monitor's actions cost each class: HTTP status of every request):")
    lines.append("")
    lines.append("| class | requests | 200 | 429 | 403 | other | sessions with a refusal |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for c in classes:
        rs = [r for r in results if r["class"] == c]
        st = collections.Counter()
        for r in rs:
            st.update({str(k): v for k, v in r["status"].items()})
        other = sum(v for k, v in st.items() if k not in ("200", "429", "403"))
        hit = sum(1 for r in rs if any(str(k) != "200" for k in r["status"]))
        lines.append(f"| {c} | {sum(st.values())} | {st['200']} | {st['429']} | {st['403']} | {other} | {hit}/{len(rs)} |")
    lines.append("")
    lines.append("Sessions in which each signal fired at all (any request, finding written or not):")
    lines.append("")
    sigs = sorted({s for r in results for s in r["signals"]})
    lines.append("| class | " + " | ".join(s.split("/")[-1] for s in sigs) + " |")
    lines.append("|---|" + "---:|" * len(sigs))
    for c in classes:
        rs = [r for r in results if r["class"] == c]
        lines.append(f"| {c} | " + " | ".join(str(sum(1 for r in rs if s in r["signals"])) for s in sigs) + " |")
    lines.append("")
    # Evasion detail: misses that succeeded.
    miss = [r for r in results if r.get("success") and not r.get("caught_before_success")]
    if miss:
        lines.append("Evasion sessions that succeeded before any alert: " + "; ".join(
            f"{nm(r)} (success at query {r['success']['query']}, "
            + (f"alert at {r['alert']['query']} by {', '.join(r['alert']['signals'])}" if r["alert"] else "never flagged")
            + ")" for r in miss) + ".")
        lines.append("")
    ex = [r for r in results if "agreement" in r]
    if ex:
        lines.append("Extraction detail (W: the server's PRADA replayed offline on the rows its detectors "
                     "read, lowest over its checks): " + "; ".join(
            f"{nm(r)} ({r['attack']}) W_min "
            f"{fmt(r['prada_replica']['w_min'], 3)}, agreement {', '.join(f'{k}: {100 * v:.1f} %' for k, v in r['agreement'].items())}"
            + (f", extraction finding: {r['signals']['monitor/extraction']['message']}"
               if 'monitor/extraction' in r['signals'] else "")
            for r in ex) + ".")
        lines.append("")
    for c in classes:
        rp = [r for r in results if r["class"] == c and r.get("prada_replica", {}).get("w_min") is not None]
        if rp and c.startswith("benign"):
            ws = [r["prada_replica"]["w_min"] for r in rp]
            lines.append(f"PRADA on {c} (replayed on all distinct queries, near duplicates included): lowest W per session median {med(ws):.3f}, range "
                         f"{min(ws):.3f}–{max(ws):.3f}; {sum(w < 0.9 for w in ws)}/{len(rp)} below 0.9.")
    mism = [nm(r) for r in results if r.get("prada_replica", {}).get("matches_server") is False]
    if mism:
        lines.append(f"PRADA replica disagrees with the server's extraction finding for: {', '.join(mism)}.")
    lines.append("")
    bf = [r for r in results if r["class"] == "benign-shared" and r["flagged"]]
    if bf:
        # Cross-client probing evidence names the clients as a count (own-client evidence: none).
        ncl = [int(r["signals"]["monitor/probing"]["evidence"].get("clients", 0))
               for r in bf if "monitor/probing" in r["signals"]]
        ps = meta["pools"]
        lines.append(f"Shared pool{'s' if len(ps) > 1 else ''}: " + "; ".join(
            f"{p['images']} images, sent {p['sends_mean']:.1f} times on average (median "
            f"{p['sends_median']:.0f}, max {p['sends_max']}), {p['images_sent_11_or_more']} sent 11 times or more"
            for p in ps) + ". Probing findings on "
                     f"benign-shared sessions named clusters of {fmt(med(ncl))} clients (median).")
        lines.append("")
    return "\n".join(lines)


def dump_streams(sessions, out):
    """--dump-streams: every answered request of every session, whole (rows, labels,
    probabilities when asked), for replaying the traffic offline (streams.npz + streams.json)."""
    arrays, index = {}, []
    for s in sessions:
        if not s.stream:
            continue
        reqs = [i for i, _, _, _, _ in s.stream]
        arrays[f"{s.name}/rows"] = np.concatenate([x for _, _, x, _, _ in s.stream])
        arrays[f"{s.name}/labels"] = np.concatenate([l for _, _, _, l, _ in s.stream])
        arrays[f"{s.name}/request"] = np.concatenate(
            [np.full(len(l), i, np.int64) for i, _, _, l, _ in s.stream])
        arrays[f"{s.name}/padding"] = np.concatenate(
            [np.arange(len(l)) < p for _, p, _, l, _ in s.stream])
        scored = [p is not None for _, _, _, _, p in s.stream]
        arrays[f"{s.name}/scored"] = np.concatenate(
            [np.full(len(l), sc) for (_, _, _, l, _), sc in zip(s.stream, scored)])
        arrays[f"{s.name}/probs"] = np.concatenate(
            [p if p is not None else np.zeros((len(l), 10), np.float32) for _, _, _, l, p in s.stream])
        index.append({"session": s.name, "class": s.cls, "kind": s.kind, "keys": [c for _, c in s.keys],
                      "requests": len(s.requests), "answered": reqs,
                      "request_keys": [q["key"] for q in s.requests],
                      "success": s.success, "y": s.meta.get("y")})
    np.savez_compressed(os.path.join(out, "streams.npz"), **arrays)
    with open(os.path.join(out, "streams.json"), "w") as f:
        json.dump(index, f, default=str)


def one_run(args, seed, out, counts, stamp):
    args.out = out
    data = Data(seed)
    sessions, server, pool_stats, seconds = run_all(args, data, counts, seed)
    events = read_log(server.log)
    problems = correlate(sessions, events)
    for p in problems:
        log("correlation: " + p)
    verify = subprocess.run([args.modelsec, "log", "verify", server.log, "--format", "json"],
                            capture_output=True, text=True, env=dict(os.environ, ORT_DYLIB_PATH=args.ort))
    if args.dump_seen:
        np.savez_compressed(os.path.join(out, "seen.npz"), **{
            f"{s.name}/{what}": np.concatenate([p[i] for p in s.seen])
            for s in sessions if s.seen for i, what in ((0, "rows"), (1, "labels"))})
    if DUMP_STREAMS:
        dump_streams(sessions, out)
    oracle = victim()
    results = [result(s, data, oracle) for s in sessions]
    for r in results:
        r["seed"] = seed
    meta = {"when": stamp, "modelsec": args.modelsec, "seeds": [seed], "quick": args.quick,
            "habits": args.habits, "preset": args.preset or "log (default)", "interleave": args.interleave,
            "counts": counts, "requests": sum(r["requests"] for r in results), "seconds": seconds,
            "pools": [pool_stats], "log_verify_exit": verify.returncode, "correlation_problems": problems,
            "events": len(events), "server": {"config": server.cfg, "log": server.log}}
    with open(os.path.join(out, "sessions.json"), "w") as f:
        json.dump({"meta": meta, "sessions": results}, f, indent=1, default=str)
    tail = (f"Event log (seed {seed}): {len(events)} events, chain "
            f"{'intact' if verify.returncode == 0 else 'NOT verified (exit %d)' % verify.returncode}; "
            f"requests correlated one for one with the log: {'yes' if not problems else 'NO (%d problems)' % len(problems)}.\n")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(summary(results, meta) + tail)
    return results, meta, tail


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: a few sessions per class")
    ap.add_argument("--counts", default="", help="override session counts, e.g. square=20,jbda=2")
    ap.add_argument("--only", action="store_true",
                    help="run only the classes named in --counts (every other class 0 sessions)")
    ap.add_argument("--seeds", default=None,
                    help="comma-separated; each seed is a separate run (fresh server, its own data split), "
                         "summarised together (default: 2026,2027,2028; --quick: 2026)")
    ap.add_argument("--modelsec", default=os.environ.get("MODELSEC", os.path.join(ROOT, "target/release/modelsec")))
    ap.add_argument("--ort", default=os.environ.get("ORT_DYLIB_PATH"))
    ap.add_argument("--out", default=None, help="run directory (default .local/field/monitor/<time>)")
    ap.add_argument("--extra-config", default=None, help="TOML appended to the generated monitor.toml")
    ap.add_argument("--preset", default=None, choices=["log", "throttle", "block"],
                    help="the monitor's action preset (default: none written, i.e. log)")
    ap.add_argument("--habits", default="dev", choices=sorted(HABITS),
                    help="benign client habits (dev; dev-heavy: long-session heavy clients; heldout, spent; "
                         "heldout2: the final measurement of round 2, with seeds 9101-9103; "
                         "heldout3: the final measurement of round 3, with seeds 9301-9303, spent; "
                         "heldout4: kept for the final measurement of round 4, with seeds 9401-9403 "
                         "(fixed before any round-4 tuning; not to be run before then); "
                         "heldout5: held out for round 5, with seeds 9501, 9502, 9503 (fixed 2026-12-01 "
                         "12:40 UTC by an independent evaluator before any round-5 tuning; run once with the "
                         "round's starting binary, the 'before' figure, and once at the end); "
                         "heldout6: held out for round 6, with seeds 9601, 9602, 9603 (fixed 2026-12-01 15:35 UTC "
                         "by an independent evaluator before any round-6 tuning; run once with the round's "
                         "starting binary, the 'before' figure, and once at the end); "
                         "heldout7: held out for round 7, with seeds 9701, 9702, 9703 (fixed 2026-12-01 18:19 UTC "
                         "by an independent evaluator before any round-7 tuning; run once with the round's "
                         "starting binary, the 'before' figure, and once at the end); "
                         "heldout8: held out for round 8, with seeds 9801, 9802, 9803 (fixed 2026-12-01 21:18 UTC "
                         "by an independent evaluator before any round-8 tuning; run once with the round's "
                         "starting binary, the 'before' figure, and once at the end); "
                         "heldout9: held out for round 9, with seeds 9901, 9902, 9903 (fixed 2026-12-02 00:20 UTC "
                         "by an independent evaluator before any round-9 tuning; run once with the round's "
                         "starting binary, the 'before' figure, and once at the end); "
                         "heldout10: held out for round 10, with seeds 10001, 10002, 10003 (fixed 2026-12-02 03:34 UTC "
                         "by an independent evaluator before any round-10 tuning; run once with the round's "
                         "starting binary, the 'before' figure, and once at the end); "
                         "heldout11: held out for round 11, with seeds 11001, 11002, 11003 (fixed 2026-12-02 05:20 UTC "
                         "by an independent evaluator before any round-11 tuning; run once with the round's "
                         "starting binary, the 'before' figure, and once at the end); "
                         "heldout12: held out for round 12, with seeds 12001, 12002, 12003 (fixed 2026-12-02 08:16 UTC "
                         "by an independent evaluator before any round-12 tuning; run once with the round's "
                         "starting binary, the 'before' figure, and once at the end); "
                         "heldout13: held out for round 13, with seeds 13001, 13002, 13003 (fixed 2026-12-02 10:36 UTC "
                         "by an independent evaluator before any round-13 tuning; run once with the round's "
                         "starting binary, the 'before' figure, and once at the end); "
                         "heldout14: held out for round 14, with seeds 14001, 14002, 14003 (fixed 2026-12-02 14:10 UTC "
                         "by an independent evaluator before any round-14 tuning; run once with the round's "
                         "starting binary, the 'before' figure, and once at the end); "
                         "heldout15: held out for round 15, with seeds 15001, 15002, 15003 (fixed 2026-12-02 16:23 UTC "
                         "by an independent evaluator before any round-15 tuning; run once with the round's "
                         "starting binary, the 'before' figure, and once at the end); "
                         "heldout16: held out for round 16, with seeds 16001, 16002, 16003 (fixed 2026-12-03 06:39 UTC "
                         "by an independent evaluator before any round-16 tuning; run once with the round's "
                         "starting binary, the 'before' figure, and once at the end); "
                         "heldout17: held out for round 17, with seeds 17001, 17002, 17003 (fixed 2026-12-03 09:30 UTC "
                         "by an independent evaluator before any round-17 tuning; run once with the round's "
                         "starting binary, the 'before' figure, and once at the end); "
                         "heldout18: held out for round 18, with seeds 18001, 18002, 18003 (fixed 2026-12-03 12:32 UTC "
                         "by an independent evaluator before any round-18 tuning; run once with the round's starting binary, the "
                         "'before' figure, and once at the end); "
                         "heldout19: held out for round 19, with seeds 19001, 19002, 19003 (fixed 2026-12-03 15:49 UTC "
                         "by an independent evaluator before any round-19 tuning; run once with the round's starting binary, the "
                         "'before' figure, and once at the end); "
                         "heldout20: held out for round 20, with seeds 20001, 20002, 20003 (fixed 2026-12-03 18:29 UTC "
                         "by an independent evaluator before any round-20 tuning; run once with the round's starting binary, the "
                         "'before' figure, and once at the end); "
                         "heldout21: held out for round 21, with seeds 21001, 21002, 21003 (fixed 2026-12-03 23:06 UTC "
                         "by an independent evaluator before any round-21 tuning; run once with the round's starting binary, the "
                         "'before' figure, and once at the end); "
                         "heldout22: held out for round 22, with seeds 22001, 22002, 22003 (fixed 2026-12-04 02:23 UTC "
                         "by an independent evaluator before any round-22 tuning; run once with the round's starting binary, the "
                         "'before' figure, and once at the end); "
                         "heldout23: held out for round 23, with seeds 23001, 23002, 23003 (fixed 2026-12-04 12:00 UTC "
                         "by an independent evaluator before any round-23 tuning; run once with the round's starting binary, the "
                         "'before' figure, and once at the end))")
    ap.add_argument("--heldout-attacks", action="store_true",
                    help="also run the unseen attack classes (" + ", ".join(HELDOUT_ATTACKS) + "), kept for the "
                         "final measurement of round 4 with --habits heldout4 and seeds 9401-9403")
    ap.add_argument("--heldout5-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 5 (" + ", ".join(HELDOUT5_ATTACKS) + "), "
                         "with --habits heldout5 and seeds 9501, 9502, 9503 (held out for round 5)")
    ap.add_argument("--heldout6-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 6 (" + ", ".join(HELDOUT6_ATTACKS) + "), "
                         "with --habits heldout6 and seeds 9601, 9602, 9603 (held out for round 6)")
    ap.add_argument("--heldout7-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 7 (" + ", ".join(HELDOUT7_ATTACKS) + "), "
                         "with --habits heldout7 and seeds 9701, 9702, 9703 (held out for round 7)")
    ap.add_argument("--heldout8-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 8 (" + ", ".join(HELDOUT8_ATTACKS) + "), "
                         "with --habits heldout8 and seeds 9801, 9802, 9803 (held out for round 8)")
    ap.add_argument("--heldout9-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 9 (" + ", ".join(HELDOUT9_ATTACKS) + "), "
                         "with --habits heldout9 and seeds 9901, 9902, 9903 (held out for round 9)")
    ap.add_argument("--heldout10-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 10 (" + ", ".join(HELDOUT10_ATTACKS) + "), "
                         "with --habits heldout10 and seeds 10001, 10002, 10003 (held out for round 10)")
    ap.add_argument("--heldout11-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 11 (" + ", ".join(HELDOUT11_ATTACKS) + "), "
                         "with --habits heldout11 and seeds 11001, 11002, 11003 (held out for round 11)")
    ap.add_argument("--heldout12-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 12 (" + ", ".join(HELDOUT12_ATTACKS) + "), "
                         "with --habits heldout12 and seeds 12001, 12002, 12003 (held out for round 12)")
    ap.add_argument("--heldout13-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 13 (" + ", ".join(HELDOUT13_ATTACKS) + "), "
                         "with --habits heldout13 and seeds 13001, 13002, 13003 (held out for round 13)")
    ap.add_argument("--heldout14-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 14 (" + ", ".join(HELDOUT14_ATTACKS) + "), "
                         "with --habits heldout14 and seeds 14001, 14002, 14003 (held out for round 14)")
    ap.add_argument("--heldout15-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 15 (" + ", ".join(HELDOUT15_ATTACKS) + "), "
                         "with --habits heldout15 and seeds 15001, 15002, 15003 (held out for round 15)")
    ap.add_argument("--heldout16-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 16 (" + ", ".join(HELDOUT16_ATTACKS) + "), "
                         "with --habits heldout16 and seeds 16001, 16002, 16003 (held out for round 16)")
    ap.add_argument("--heldout17-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 17 (" + ", ".join(HELDOUT17_ATTACKS) + "), "
                         "with --habits heldout17 and seeds 17001, 17002, 17003 (held out for round 17)")
    ap.add_argument("--heldout18-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 18 (" + ", ".join(HELDOUT18_ATTACKS) + "), "
                         "with --habits heldout18 and seeds 18001, 18002, 18003 (held out for round 18)")
    ap.add_argument("--heldout19-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 19 (" + ", ".join(HELDOUT19_ATTACKS) + "), "
                         "with --habits heldout19 and seeds 19001, 19002, 19003 (held out for round 19)")
    ap.add_argument("--heldout20-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 20 (" + ", ".join(HELDOUT20_ATTACKS) + "), "
                         "with --habits heldout20 and seeds 20001, 20002, 20003 (held out for round 20)")
    ap.add_argument("--heldout21-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 21 (" + ", ".join(HELDOUT21_ATTACKS) + "), "
                         "with --habits heldout21 and seeds 21001, 21002, 21003 (held out for round 21)")
    ap.add_argument("--heldout22-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 22 (" + ", ".join(HELDOUT22_ATTACKS) + "), "
                         "with --habits heldout22 and seeds 22001, 22002, 22003 (held out for round 22)")
    ap.add_argument("--heldout23-attacks", action="store_true",
                    help="also run the unseen attack classes of held out 23 (" + ", ".join(HELDOUT23_ATTACKS) + "), "
                         "with --habits heldout23 and seeds 23001, 23002, 23003 (held out for round 23)")
    ap.add_argument("--interleave", type=int, default=2,
                    help="interleaved classes: the attacker's own natural requests sent before every "
                         "attack request (default 2)")
    ap.add_argument("--dump-streams", action="store_true",
                    help="save every answered request of every session (streams.npz/.json) for offline replay")
    ap.add_argument("--dump-seen", action="store_true",
                    help="also save, per session, the rows the detectors read and their labels (seen.npz)")
    args = ap.parse_args()
    global DUMP_STREAMS, HAB
    DUMP_STREAMS = args.dump_streams
    HAB = HABITS[args.habits]
    if not args.ort:
        raise SystemExit("set ORT_DYLIB_PATH (or --ort) to libonnxruntime.so.1.31.1")
    counts = collections.OrderedDict(QUICK if args.quick else FULL)
    counts.update((k, n if args.heldout_attacks else 0) for k, n in HELDOUT_ATTACKS.items())
    counts.update((k, n if args.heldout5_attacks else 0) for k, n in HELDOUT5_ATTACKS.items())
    counts.update((k, n if args.heldout6_attacks else 0) for k, n in HELDOUT6_ATTACKS.items())
    counts.update((k, n if args.heldout7_attacks else 0) for k, n in HELDOUT7_ATTACKS.items())
    counts.update((k, n if args.heldout8_attacks else 0) for k, n in HELDOUT8_ATTACKS.items())
    counts.update((k, n if args.heldout9_attacks else 0) for k, n in HELDOUT9_ATTACKS.items())
    counts.update((k, n if args.heldout10_attacks else 0) for k, n in HELDOUT10_ATTACKS.items())
    counts.update((k, n if args.heldout11_attacks else 0) for k, n in HELDOUT11_ATTACKS.items())
    counts.update((k, n if args.heldout12_attacks else 0) for k, n in HELDOUT12_ATTACKS.items())
    counts.update((k, n if args.heldout13_attacks else 0) for k, n in HELDOUT13_ATTACKS.items())
    counts.update((k, n if args.heldout14_attacks else 0) for k, n in HELDOUT14_ATTACKS.items())
    counts.update((k, n if args.heldout15_attacks else 0) for k, n in HELDOUT15_ATTACKS.items())
    counts.update((k, n if args.heldout16_attacks else 0) for k, n in HELDOUT16_ATTACKS.items())
    counts.update((k, n if args.heldout17_attacks else 0) for k, n in HELDOUT17_ATTACKS.items())
    counts.update((k, n if args.heldout18_attacks else 0) for k, n in HELDOUT18_ATTACKS.items())
    counts.update((k, n if args.heldout19_attacks else 0) for k, n in HELDOUT19_ATTACKS.items())
    counts.update((k, n if args.heldout20_attacks else 0) for k, n in HELDOUT20_ATTACKS.items())
    counts.update((k, n if args.heldout21_attacks else 0) for k, n in HELDOUT21_ATTACKS.items())
    counts.update((k, n if args.heldout22_attacks else 0) for k, n in HELDOUT22_ATTACKS.items())
    counts.update((k, n if args.heldout23_attacks else 0) for k, n in HELDOUT23_ATTACKS.items())
    if args.only:
        counts = collections.OrderedDict((k, 0) for k in counts)
    for kv in filter(None, args.counts.split(",")):
        k, v = kv.split("=")
        if k not in counts:
            raise SystemExit(f"unknown class {k}; classes: {', '.join(counts)}")
        counts[k] = int(v)
    seeds = [int(s) for s in (args.seeds or ("2026" if args.quick else "2026,2027,2028")).split(",")]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    root = os.path.abspath(args.out or os.path.join(ROOT, ".local", "field", "monitor",
                                                    stamp + ("-quick" if args.quick else "")))
    # The monitor appends to an existing event log, and a second run's sessions would be
    # correlated with the first run's events too: refuse a directory that already holds a run.
    outs = [root if len(seeds) == 1 else os.path.join(root, f"seed-{seed}") for seed in seeds]
    used = [o for o in outs if os.path.exists(os.path.join(o, "events.jsonl"))]
    if used:
        sys.stderr.write(f"monitor_eval: {used[0]} already holds a run (events.jsonl); the monitor would append "
                         "to its log and mix the two runs. Give a new --out, or remove the old run first.\n")
        sys.exit(2)
    all_results, metas, tails = [], [], []
    for seed, out in zip(seeds, outs):
        log(f"== seed {seed} -> {out}")
        r, m, tail = one_run(args, seed, out, counts, stamp)
        all_results += r
        metas.append(m)
        tails.append(tail)
    meta = dict(metas[0])
    meta.update(seeds=seeds, requests=sum(m["requests"] for m in metas),
                seconds=sum(m["seconds"] for m in metas), pools=[m["pools"][0] for m in metas])
    text = summary(all_results, meta) + "".join(tails)
    if len(seeds) > 1:
        with open(os.path.join(root, "summary.md"), "w") as f:
            f.write(text)
        with open(os.path.join(root, "sessions.json"), "w") as f:
            json.dump({"meta": meta, "sessions": all_results}, f, indent=1, default=str)
    print(text)
    log(f"per-session results and summary: {root}")


if __name__ == "__main__":
    main()
