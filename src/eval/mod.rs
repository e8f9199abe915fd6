//! Quality scores for generated images (issue 8): the Fréchet classifier distance, the class
//! entropy that reveals mode collapse, and classifier confidence.

pub mod frechet;
