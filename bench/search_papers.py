"""Known papers written for the search benchmark (bench/bench_search.py), in the Kaggle file's shape.

Titles, authors, ids and dates are the papers' public facts; the abstracts are short summaries written here
(not arXiv's text). Each entry may name the nickname people search it by and one query of that kind, written
before any search ran. The benchmark adds the real papers recorded in ../shared/fixtures at run time.
"""

from __future__ import annotations

# id, published (YYYY-MM-DD), categories, title, authors ("; "-separated), abstract, nickname query
OWN_PAPERS: list[tuple[str, str, str, str, str, str, str | None]] = [
    ("1706.03762", "2017-06-12", "cs.CL cs.LG", "Attention Is All You Need",
     "Ashish Vaswani; Noam Shazeer; Niki Parmar; Jakob Uszkoreit; Llion Jones; Aidan N. Gomez; Lukasz Kaiser; "
     "Illia Polosukhin",
     "Sequence transduction models are usually built from recurrent or convolutional networks with an encoder "
     "and a decoder. We propose the Transformer, an architecture based only on attention mechanisms, which "
     "trains faster and translates better on WMT English-German and English-French.",
     "transformer paper"),
    ("1512.03385", "2015-12-10", "cs.CV", "Deep Residual Learning for Image Recognition",
     "Kaiming He; Xiangyu Zhang; Shaoqing Ren; Jian Sun",
     "Deeper neural networks are harder to train. We reformulate layers as learning residual functions with "
     "reference to the layer inputs, and show that residual networks of up to 152 layers are easier to optimize "
     "and gain accuracy from depth on ImageNet and COCO.",
     "resnet"),
    ("1810.04805", "2018-10-11", "cs.CL",
     "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
     "Jacob Devlin; Ming-Wei Chang; Kenton Lee; Kristina Toutanova",
     "We introduce a language representation model pre-trained on unlabeled text by conditioning on both left "
     "and right context in all layers. Fine-tuned with one extra output layer it sets new results on eleven "
     "language understanding tasks.",
     "bert"),
    ("2005.14165", "2020-05-28", "cs.CL", "Language Models are Few-Shot Learners",
     "Tom B. Brown; Benjamin Mann; Nick Ryder; Melanie Subbiah; Jared Kaplan; Prafulla Dhariwal; "
     "Arvind Neelakantan; Pranav Shyam; Girish Sastry; Amanda Askell",
     "Scaling up language models greatly improves task-agnostic few-shot performance. We train GPT-3, an "
     "autoregressive language model with 175 billion parameters, and test it without gradient updates on many "
     "benchmarks, given only a few demonstrations as text.",
     "gpt-3"),
    ("1412.6980", "2014-12-22", "cs.LG", "Adam: A Method for Stochastic Optimization",
     "Diederik P. Kingma; Jimmy Ba",
     "We introduce an algorithm for first-order gradient-based optimization of stochastic objective functions, "
     "based on adaptive estimates of lower-order moments. It is simple, memory-efficient and well suited to "
     "problems that are large in data or parameters.",
     "adam optimizer"),
    ("1406.2661", "2014-06-10", "stat.ML cs.LG", "Generative Adversarial Networks",
     "Ian J. Goodfellow; Jean Pouget-Abadie; Mehdi Mirza; Bing Xu; David Warde-Farley; Sherjil Ozair; "
     "Aaron Courville; Yoshua Bengio",
     "We propose a framework for estimating generative models via an adversarial process, training a generator "
     "that captures the data distribution and a discriminator that estimates whether a sample came from the "
     "training data, as a two-player minimax game.",
     "gan goodfellow"),
    ("1506.02640", "2015-06-08", "cs.CV", "You Only Look Once: Unified, Real-Time Object Detection",
     "Joseph Redmon; Santosh Divvala; Ross Girshick; Ali Farhadi",
     "We present YOLO, a new approach to object detection that frames detection as regression to spatially "
     "separated bounding boxes and class probabilities, predicted by a single network in one evaluation at 45 "
     "frames per second.",
     "yolo"),
    ("2010.11929", "2020-10-22", "cs.CV cs.LG",
     "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
     "Alexey Dosovitskiy; Lucas Beyer; Alexander Kolesnikov; Dirk Weissenborn; Xiaohua Zhai; Thomas Unterthiner",
     "While the Transformer is the standard for language, its use in vision has been limited. A pure "
     "transformer applied to sequences of image patches performs very well on image classification; the Vision "
     "Transformer (ViT) needs far less compute to train than convolutional networks.",
     "vit"),
    ("1505.04597", "2015-05-18", "cs.CV", "U-Net: Convolutional Networks for Biomedical Image Segmentation",
     "Olaf Ronneberger; Philipp Fischer; Thomas Brox",
     "We present a network and training strategy relying on data augmentation to use few annotated samples "
     "efficiently: a contracting path captures context and a symmetric expanding path enables precise "
     "localization, winning the ISBI cell tracking challenge.",
     "unet segmentation"),
    ("1301.3781", "2013-01-16", "cs.CL", "Efficient Estimation of Word Representations in Vector Space",
     "Tomas Mikolov; Kai Chen; Greg Corrado; Jeffrey Dean",
     "We propose two model architectures for computing continuous vector representations of words from very "
     "large data sets, and measure their quality on a word similarity task, with large gains in accuracy at "
     "much lower computational cost.",
     "word2vec"),
    ("1312.5602", "2013-12-19", "cs.LG", "Playing Atari with Deep Reinforcement Learning",
     "Volodymyr Mnih; Koray Kavukcuoglu; David Silver; Alex Graves; Ioannis Antonoglou; Daan Wierstra; "
     "Martin Riedmiller",
     "We present the first deep learning model to learn control policies directly from high-dimensional "
     "sensory input using reinforcement learning: a convolutional network trained with a variant of Q-learning "
     "on raw pixels of seven Atari 2600 games.",
     "dqn atari"),
    ("1707.06347", "2017-07-20", "cs.LG", "Proximal Policy Optimization Algorithms",
     "John Schulman; Filip Wolski; Prafulla Dhariwal; Alec Radford; Oleg Klimov",
     "We propose a new family of policy gradient methods for reinforcement learning which alternate between "
     "sampling data and optimizing a surrogate objective, which we call proximal policy optimization (PPO).",
     "ppo"),
    ("2006.11239", "2020-06-19", "cs.LG stat.ML", "Denoising Diffusion Probabilistic Models",
     "Jonathan Ho; Ajay Jain; Pieter Abbeel",
     "We present high quality image synthesis results using diffusion probabilistic models, latent variable "
     "models inspired by nonequilibrium thermodynamics, trained on a weighted variational bound connected to "
     "denoising score matching.",
     "ddpm"),
    ("2003.08934", "2020-03-19", "cs.CV cs.GR",
     "NeRF: Representing Scenes as Neural Radiance Fields for View Synthesis",
     "Ben Mildenhall; Pratul P. Srinivasan; Matthew Tancik; Jonathan T. Barron; Ravi Ramamoorthi; Ren Ng",
     "We synthesize novel views of complex scenes by optimizing a continuous volumetric scene function from a "
     "sparse set of input views, represented by a fully connected network whose output is volume density and "
     "view-dependent radiance.",
     "nerf"),
    ("2106.09685", "2021-06-17", "cs.CL cs.AI cs.LG", "LoRA: Low-Rank Adaptation of Large Language Models",
     "Edward J. Hu; Yelong Shen; Phillip Wallis; Zeyuan Allen-Zhu; Yuanzhi Li; Shean Wang; Lu Wang; Weizhu Chen",
     "Full fine-tuning of large pretrained models becomes less feasible as they grow. We freeze the pretrained "
     "weights and inject trainable rank decomposition matrices into each layer, reducing trainable parameters "
     "by 10,000 times.",
     "lora"),
    ("2302.13971", "2023-02-27", "cs.CL", "LLaMA: Open and Efficient Foundation Language Models",
     "Hugo Touvron; Thibaut Lavril; Gautier Izacard; Xavier Martinet; Marie-Anne Lachaux; Timothee Lacroix",
     "We introduce a collection of foundation language models from 7B to 65B parameters, trained on trillions "
     "of tokens from publicly available datasets only, and competitive with much larger models.",
     "llama"),
    ("1907.11692", "2019-07-26", "cs.CL", "RoBERTa: A Robustly Optimized BERT Pretraining Approach",
     "Yinhan Liu; Myle Ott; Naman Goyal; Jingfei Du; Mandar Joshi; Danqi Chen; Omer Levy; Mike Lewis",
     "Language model pretraining has led to significant gains, but careful comparison is hard. We present a "
     "replication study that measures the impact of key hyperparameters and training data size, and find the "
     "original model was significantly undertrained.",
     "roberta"),
    ("1502.03167", "2015-02-11", "cs.LG",
     "Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift",
     "Sergey Ioffe; Christian Szegedy",
     "Training deep networks is complicated because the distribution of each layer's inputs changes during "
     "training. We normalize layer inputs for each training mini-batch, allowing much higher learning rates.",
     "batchnorm"),
    ("1409.1556", "2014-09-04", "cs.CV", "Very Deep Convolutional Networks for Large-Scale Image Recognition",
     "Karen Simonyan; Andrew Zisserman",
     "We investigate the effect of convolutional network depth on accuracy in large-scale image recognition, "
     "using very small 3x3 convolution filters and pushing depth to 16-19 weight layers.",
     "vgg"),
    ("2103.00020", "2021-02-26", "cs.CV cs.LG",
     "Learning Transferable Visual Models From Natural Language Supervision",
     "Alec Radford; Jong Wook Kim; Chris Hallacy; Aditya Ramesh; Gabriel Goh; Sandhini Agarwal",
     "We learn image representations from scratch by predicting which caption goes with which image on 400 "
     "million image-text pairs from the internet, then use natural language to reference visual concepts and "
     "transfer zero-shot to downstream tasks.",
     "clip openai"),
    ("1910.10683", "2019-10-23", "cs.LG cs.CL stat.ML",
     "Exploring the Limits of Transfer Learning with a Unified Text-to-Text Transformer",
     "Colin Raffel; Noam Shazeer; Adam Roberts; Katherine Lee; Sharan Narang; Michael Matena",
     "We explore transfer learning techniques for NLP by introducing a framework that converts every language "
     "problem into a text-to-text format, and compare pre-training objectives, architectures and data sets.",
     "t5"),
    ("1609.02907", "2016-09-09", "cs.LG stat.ML", "Semi-Supervised Classification with Graph Convolutional Networks",
     "Thomas N. Kipf; Max Welling",
     "We present a scalable approach for semi-supervised learning on graph-structured data based on an "
     "efficient variant of convolutional neural networks operating directly on graphs.",
     "gcn"),
    ("1312.6114", "2013-12-20", "stat.ML cs.LG", "Auto-Encoding Variational Bayes",
     "Diederik P Kingma; Max Welling",
     "We introduce a stochastic variational inference and learning algorithm for directed probabilistic models "
     "with continuous latent variables and intractable posteriors, scaling to large datasets.",
     "vae"),
    ("2112.10752", "2021-12-20", "cs.CV", "High-Resolution Image Synthesis with Latent Diffusion Models",
     "Robin Rombach; Andreas Blattmann; Dominik Lorenz; Patrick Esser; Bjorn Ommer",
     "Diffusion models achieve state-of-the-art synthesis but are costly to train and evaluate in pixel space. "
     "We apply them in the latent space of powerful pretrained autoencoders, calling the result latent "
     "diffusion models (LDMs).",
     "stable diffusion"),
    ("1703.06870", "2017-03-20", "cs.CV", "Mask R-CNN",
     "Kaiming He; Georgia Gkioxari; Piotr Dollar; Ross Girshick",
     "We present a simple and flexible framework for object instance segmentation that extends Faster R-CNN "
     "with a branch predicting an object mask in parallel with the box branch.",
     "mask rcnn"),
    ("quant-ph/9508027", "1995-08-30", "quant-ph",
     "Polynomial-Time Algorithms for Prime Factorization and Discrete Logarithms on a Quantum Computer",
     "Peter W. Shor",
     "A digital computer is generally believed to be an efficient universal computing device. We give "
     "efficient randomized algorithms for factoring integers and finding discrete logarithms on a hypothetical "
     "quantum computer.",
     "shor factoring"),
    ("quant-ph/9605043", "1996-05-29", "quant-ph", "A fast quantum mechanical algorithm for database search",
     "Lov K. Grover",
     "Imagine a phone directory of N names in random order. A quantum mechanical system can find a given name "
     "in about the square root of N steps, where any classical algorithm needs about N/2.",
     "grover search"),
    ("hep-th/9711200", "1997-11-27", "hep-th",
     "The Large N Limit of Superconformal Field Theories and Supergravity",
     "Juan M. Maldacena",
     "We show that the large N limit of certain conformal field theories in various dimensions includes in "
     "their Hilbert space a sector describing supergravity on the product of anti-de Sitter spacetimes.",
     "ads/cft maldacena"),
    ("astro-ph/9805201", "1998-05-15", "astro-ph",
     "Observational Evidence from Supernovae for an Accelerating Universe and a Cosmological Constant",
     "Adam G. Riess; Alexei V. Filippenko; Peter Challis; Alejandro Clocchiatti; Alan Diercks",
     "We present observations of type Ia supernovae at high redshift; their distances exceed those expected in "
     "a low mass density universe without a cosmological constant, favouring an accelerating expansion.",
     None),
    ("cond-mat/0410550", "2004-10-21", "cond-mat.mes-hall", "Electric Field Effect in Atomically Thin Carbon Films",
     "K. S. Novoselov; A. K. Geim; S. V. Morozov; D. Jiang; Y. Zhang; S. V. Dubonos",
     "We describe monocrystalline graphitic films a few atoms thick which are stable under ambient conditions, "
     "metallic, and of remarkably high quality, showing a strong ambipolar electric field effect.",
     "graphene geim"),
    ("math/0211159", "2002-11-11", "math.DG", "The entropy formula for the Ricci flow and its geometric applications",
     "Grisha Perelman",
     "We present a monotonic expression for the Ricci flow, valid in all dimensions without curvature "
     "assumptions, interpreted as an entropy for a certain canonical ensemble.",
     None),
    ("2501.12948", "2025-01-22", "cs.CL cs.AI cs.LG",
     "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement Learning",
     "DeepSeek-AI",
     "We introduce first-generation reasoning models trained with large-scale reinforcement learning, without "
     "supervised fine-tuning as a first step, which show remarkable reasoning behaviours.",
     "deepseek r1"),
    ("2412.19437", "2024-12-27", "cs.CL cs.AI", "DeepSeek-V3 Technical Report", "DeepSeek-AI",
     "We present a strong mixture-of-experts language model with 671B total parameters of which 37B are "
     "activated for each token, trained on 14.8 trillion tokens.",
     None),
]

# Citation counts of the papers above, for the benchmark's citation tie-breaker: approximate Semantic Scholar
# figures (public, rounded to their order of magnitude, as of 2024-2025), not exact counts.
FAMOUS_CITATIONS: dict[str, int] = {
    "1706.03762": 140_000, "1512.03385": 200_000, "1810.04805": 100_000, "2005.14165": 35_000,
    "1412.6980": 150_000, "1406.2661": 60_000, "1506.02640": 40_000, "2010.11929": 40_000,
    "1505.04597": 80_000, "1301.3781": 35_000, "1312.5602": 12_000, "1707.06347": 18_000,
    "2006.11239": 15_000, "2003.08934": 10_000, "2106.09685": 10_000, "2302.13971": 12_000,
    "1907.11692": 20_000, "1502.03167": 45_000, "1409.1556": 100_000, "2103.00020": 25_000,
    "1910.10683": 18_000, "1609.02907": 25_000, "1312.6114": 30_000, "2112.10752": 12_000,
    "1703.06870": 30_000, "quant-ph/9508027": 8_000, "quant-ph/9605043": 7_000, "hep-th/9711200": 18_000,
    "astro-ph/9805201": 15_000, "cond-mat/0410550": 50_000, "math/0211159": 2_500, "2501.12948": 3_000,
    "2412.19437": 1_000,
}
