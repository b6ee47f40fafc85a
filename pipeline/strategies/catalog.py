"""The 12 strategies of FLAMES (and one seedless baseline) as declarative definitions.

Templates live in the database. Conventions the runner relies on: `problem`, `solution`
and `answer` start as the seed's, so loops can refine them round after round; a strategy
that `yields` each round or each number plans one slot per round or number of a seed.
Each definition's `note` names its source and how this version departs from it.
"""

from __future__ import annotations

from pipeline.strategies import checks
from pipeline.strategies.definition import Param, Stage, Strategy
from pipeline.taxonomy import load_taxonomy

LEVELS = ("grade_school", "middle_school", "high_school", "competition", "college")

_N_CONCEPTS = Param("n_concepts", "int", 3, "most concepts to extract", minimum=1, maximum=8)
_WRITE = Stage("write", "write a new problem from the concepts", sections=("problem",))
_EXTRACT = Stage("extract", "name the key concepts of the seed", sections=("concepts",))

FEW_SHOT = Strategy(
    "few_shot",
    "Few-shot",
    "A new problem inspired by one seed, after fixed worked examples of seed -> new problem.",
    inputs="seed",
    answer_rule="none",
    stages=(
        Stage(
            "write",
            "write a new problem inspired by the seed, as the fixed examples show",
            sections=("problem",),
        ),
    ),
    note=(
        "Source: OpenMathInstruct-2 (Toshniwal et al., 2024), as FLAMES credits it. "
        "Kept: one seed problem per prompt, after fixed worked examples of 'original problem -> "
        "new problem inspired by it'; the new problem is not solved. Changed: the worked "
        "examples are this project's own (editable in the template), and the reply is tagged "
        "<problem> so it parses strictly."
    ),
)

PARAPHRASE = Strategy(
    "paraphrase",
    "Paraphrase",
    "Rephrase the seed problem with the same mathematics; the answer is kept.",
    inputs="seed",
    answer_rule="keeps",
    answer_from="seed_answer",
    stages=(Stage("rephrase", "reword the seed, keeping every number", sections=("problem",)),),
    check=checks.check_paraphrase,
    note=(
        "Source: question rephrasing as in MetaMath (Yu et al., 2024). Kept: same maths, new "
        "wording, the seed's answer is the reference. Changed: MetaMath kept a rephrasing only "
        "when a model's answer to it matched; here every seed number must survive instead "
        "(invalid:changed_numbers), and answer agreement is left to the solve stage."
    ),
)

KEY_CONCEPTS = Strategy(
    "key_concepts",
    "Key concepts",
    "Extract the seed's key concepts, then write a new problem from the concepts alone.",
    inputs="seed",
    answer_rule="none",
    stages=(_EXTRACT, _WRITE),
    params=(_N_CONCEPTS,),
    note=(
        "Source: MathScale (Tang et al., 2024) and KPDDS (Huang et al., 2024). Kept: concepts "
        "are extracted from a seed, then a new problem is written from the concepts alone. "
        "Changed: the concepts of one seed make one problem; MathScale builds a concept graph "
        "over all seeds and samples concept combinations from it."
    ),
)

SEEDED_KEY_CONCEPTS = Strategy(
    "seeded_key_concepts",
    "Seeded key concepts",
    "As key_concepts, but the seed problem is also shown when writing.",
    inputs="seed",
    answer_rule="none",
    stages=(
        _EXTRACT,
        Stage("write", "write a new problem from the seed and its concepts", sections=("problem",)),
    ),
    params=(_N_CONCEPTS,),
    note=(
        "Source: FLAMES's variant of key concepts (Seegmiller et al., 2025). Kept: the seed is "
        "shown beside its extracted concepts when the new problem is written. Changed: nothing "
        "beyond tagged replies."
    ),
)

SUGGESTER_EDITOR = Strategy(
    "suggester_editor",
    "Suggester-Editor",
    "A suggester proposes ways to make the problem harder; an editor applies them; N rounds.",
    inputs="seed",
    answer_rule="none",
    stages=(
        Stage(
            "suggest",
            "propose changes that make the problem harder (no solving)",
            sections=("suggestions",),
            repeat="rounds",
        ),
        Stage(
            "edit",
            "rewrite the problem applying the suggestions",
            sections=("problem",),
            repeat="rounds",
        ),
    ),
    params=(Param("rounds", "int", 2, "suggest/edit rounds", minimum=1, maximum=5),),
    note=(
        "Source: Orca-Math's Suggester & Editor agents (Mitra et al., 2024). Kept: the "
        "suggester proposes ways to raise complexity without solving; the editor rewrites the "
        "problem applying them; the pair runs for N rounds on the edited problem. Changed: only "
        "the final round's problem is kept, and solvability is judged later by the solve and "
        "judge stages rather than inside the loop."
    ),
)

IQC = Strategy(
    "iqc",
    "Iterative question composing",
    "Compose a problem holding the previous one as a hidden sub-step; re-solve to check; iterate.",
    inputs="seed_answer",
    answer_rule="derives",
    answer_from="answer",
    yields="each_round",
    stages=(
        Stage(
            "compose",
            "compose a problem that needs the previous one as a hidden sub-step (with solution)",
            sections=("problem", "solution", "answer"),
            repeat="iterations",
            check=checks.check_hides_previous_answer,
        ),
        Stage(
            "check",
            "solve the composed problem independently; it must reach the composer's answer",
            sections=("check_solution",),
            repeat="iterations",
            whole_reply=True,
            check=checks.check_iqc_answer,
        ),
    ),
    params=(Param("iterations", "int", 2, "composition iterations", minimum=1, maximum=5),),
    note=(
        "Source: Iterative Question Composing, MMIQC (Liu et al., 2024). Kept: the composer "
        "sees the seed problem and its solution, and writes a problem that contains it as a "
        "hidden sub-step without stating its conclusion (checked: the sub-step's answer may not "
        "be written in the new problem, invalid:states_sub_answer); each iteration composes on "
        "the previous one; each is answer-checked, and every accepted iteration is kept as its "
        "own problem with its iteration number in provenance. Changed: MMIQC composed with "
        "GPT-4 and checked by rejection sampling several GPT-3.5 solutions; here the generator "
        "re-solves each composed problem once in a fresh prompt and the grader must find the "
        "composer's answer (invalid:check_disagrees). The checked answer is stored as the "
        "problem's reference answer."
    ),
)

ASK_ME_ANYTHING = Strategy(
    "ask_me_anything",
    "Ask me anything",
    "Restate seed + answer as a statement; then one problem per number, that number its answer.",
    inputs="seed_answer",
    answer_rule="derives",
    answer_from="target",
    yields="each_number",
    stages=(
        Stage(
            "state",
            "restate the seed problem and its answer as one statement of facts",
            sections=("statement",),
            check=checks.check_statement,
        ),
        Stage(
            "ask",
            "write a problem that hides this slot's number and asks for it",
            sections=("problem",),
        ),
    ),
    params=(
        Param(
            "max_problems",
            "int",
            6,
            "most numbers of one seed turned into problems",
            minimum=1,
            maximum=12,
        ),
    ),
    check=checks.check_hides_target,
    note=(
        "Source: Orca-Math's Ask Me Anything agent (Mitra et al., 2024). Kept: the seed and "
        "its answer are restated as a statement; every number in it becomes the answer of one "
        "new problem, and that number is recorded as the problem's reference answer. Changed: "
        "the numbers are taken from the seed's text and answer when the slots are planned (at "
        "most max_problems per seed) and each problem is its own request, instead of one reply "
        "listing all of them; a problem must hide its number (invalid:answer_in_problem)."
    ),
)

SELF_VERIFICATION = Strategy(
    "self_verification",
    "Self-verification",
    "State the answer as a given and ask for a former given (backward reasoning).",
    inputs="seed_answer",
    answer_rule="derives",
    answer_from="answer",
    stages=(
        Stage(
            "invert",
            "make a given the unknown and the answer a given",
            sections=("problem", "answer"),
        ),
    ),
    check=checks.check_self_verification,
    note=(
        "Source: Self-Verification (SV) questions of MetaMath (Yu et al., 2024). Kept: the "
        "seed's answer becomes a given and a former given becomes the unknown, which is the "
        "reference answer. Changed: the model rewrites the problem in one step (MetaMath turned "
        "the question into a declarative statement, then appended a fixed question); checks: "
        "the unknown is a number of the seed, the new problem no longer states it "
        "(invalid:masked_number_still_given) and states the seed's answer."
    ),
)

FOBAR = Strategy(
    "fobar",
    "FOBAR",
    "Mask a number of the seed as x and ask for x given the seed's answer.",
    inputs="seed_answer",
    answer_rule="derives",
    answer_from="masked",
    stages=(
        Stage("mask", "replace one given number with x", sections=("problem", "masked")),
        Stage(
            "compose",
            "append the known answer and ask for x (no model call)",
            kind="render",
            output="problem",
        ),
    ),
    check=checks.check_fobar,
    note=(
        "Source: FOBAR (Jiang et al., 2024) as used by MetaMath. Kept: one number of the seed "
        "is masked as x and the fixed sentence 'If we know the answer to the above question is "
        "A, what is the value of the unknown variable x?' is appended; x's value is the "
        "reference answer. Changed: the model picks and masks the number (one call); the "
        "appended sentence is rendered without a model call; the masked value must be a number "
        "of the seed and x must appear."
    ),
)

QFT = Strategy(
    "qft",
    "Question fine-tuning",
    "Fine-tune a problem-solving model on seed questions only, then sample questions from it.",
    inputs="seed_questions",
    answer_rule="none",
    stages=(
        Stage(
            "finetune",
            "short SFT of the base model on the seed questions alone (cached per base model, "
            "seed sets and params)",
            kind="train",
        ),
        Stage(
            "sample",
            "sample a question from the fine-tuned model given only the minimal prompt",
            sections=("problem",),
            whole_reply=True,
        ),
    ),
    params=(
        Param(
            "base_model",
            "str",
            "",
            "model to fine-tune (a path or Hub id); empty: the experiment's teacher, a "
            "problem-solving model as in ScaleQuest",
        ),
        Param(
            "max_questions",
            "int",
            15000,
            "most seed questions trained on (drawn by the experiment's seed-set ratios)",
            minimum=1,
            maximum=10_000_000,
        ),
        Param("epochs", "float", 1.0, "training epochs", minimum=0.01, maximum=20),
        Param("learning_rate", "float", 1e-5, "training learning rate", minimum=0, maximum=1),
        Param("lora", "bool", True, "train a LoRA adapter instead of all weights"),
    ),
    note=(
        "Source: Question Fine-Tuning, the first stage of ScaleQuest (Ding et al., 2024). "
        "Kept: a problem-solving model is fine-tuned briefly on seed questions only (no "
        "solutions), then new questions are sampled from it with no seed in the prompt; the "
        "fine-tuned model is cached per (base model, seed questions, params). Changed: the "
        "question is the assistant's reply to a fixed minimal prompt (the editable 'sample' "
        "template, also used in training) rather than the user turn of an empty chat "
        "template; ScaleQuest's later stages (question preference optimisation, its filters) "
        "are not part of this strategy (filters are the pipeline's own stages)."
    ),
)

ZERO_SHOT_GENERATION = Strategy(
    "zero_shot_generation",
    "Zero-shot generation (seedless)",
    "A new problem from a question-writing prompt alone: no seed, no training.",
    inputs="none",
    answer_rule="none",
    stages=(Stage("write", "write an original problem for the level", sections=("problem",)),),
    params=(Param("level", "str", "high_school", "target level", choices=LEVELS),),
    note=(
        "Source: none; a project baseline. An instruction model is asked for an original "
        "problem at a level, with no seed and no training. It is what an earlier version "
        "called 'qft'; it is not Question Fine-Tuning (see qft)."
    ),
)

TAXONOMY_KEY_CONCEPTS = Strategy(
    "taxonomy_key_concepts",
    "Taxonomy key concepts",
    "Walk the math taxonomy: topic and concepts -> key ideas -> a new problem (no seed).",
    inputs="taxonomy",
    answer_rule="none",
    stages=(
        Stage(
            "expand", "list key ideas for the picked topic and concepts", sections=("key_concepts",)
        ),
        Stage("write", "write a problem that combines the ideas", sections=("problem",)),
    ),
    params=(
        Param(
            "coverage",
            "str",
            "leaves",
            "what the walk spreads evenly over",
            choices=("leaves", "topics", "subjects"),
        ),
        Param(
            "subjects",
            "list",
            [],
            "subject ids to walk (empty: all)",
            choices=tuple(s.id for s in load_taxonomy().subjects),
        ),
        Param("levels", "list", [], "levels to walk (empty: all)", choices=LEVELS),
        Param(
            "concepts_per_problem",
            "int",
            2,
            "taxonomy concepts combined per problem",
            minimum=1,
            maximum=4,
        ),
        _N_CONCEPTS,
    ),
    note=(
        "Source: FLAMES's Taxonomy-Based Key Concepts agent (Seegmiller et al., 2025). Kept: "
        "a walk over a math taxonomy picks a topic and concepts, the model lists key ideas, "
        "then writes a problem combining them; no seed. Changed: the taxonomy is this "
        "project's own (pipeline/data/taxonomy.toml), not the paper's."
    ),
)

DISTRACTION_INSERTION = Strategy(
    "distraction_insertion",
    "Distraction insertion",
    "Insert irrelevant but plausible details into the seed; the answer is kept.",
    inputs="seed_answer",
    answer_rule="keeps",
    answer_from="seed_answer",
    stages=(Stage("distract", "add details that do not change the answer", sections=("problem",)),),
    params=(
        Param("n_distractions", "int", 2, "sentences of distraction to add", minimum=1, maximum=4),
    ),
    check=checks.check_distraction,
    note=(
        "Source: FLAMES's Distraction Insertion agent (Seegmiller et al., 2025). Kept: "
        "irrelevant but plausible details are added to the seed and its answer is kept as the "
        "reference. Changed: checked mechanically: every seed number must survive and the text "
        "must grow (invalid:changed_numbers, invalid:nothing_inserted)."
    ),
)

STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        FEW_SHOT,
        PARAPHRASE,
        KEY_CONCEPTS,
        SEEDED_KEY_CONCEPTS,
        SUGGESTER_EDITOR,
        IQC,
        ASK_ME_ANYTHING,
        SELF_VERIFICATION,
        FOBAR,
        QFT,
        ZERO_SHOT_GENERATION,
        TAXONOMY_KEY_CONCEPTS,
        DISTRACTION_INSERTION,
    )
}
