"""Linear probe: a logistic regression on frozen, standardised features."""
import torch


def linear_probe_top1(train_features: torch.Tensor,
                      train_labels: torch.Tensor,
                      test_features: torch.Tensor,
                      test_labels: torch.Tensor,
                      inverse_regularization: float = 1.0,
                      max_iter: int = 1000) -> float:
    """Fits a linear classifier on one split and scores it on another.

    The features are standardised with the training split's mean and
    standard deviation, then a multinomial logistic regression (L2 penalty,
    L-BFGS, deterministic) is fitted. Its settings are fixed up front and
    never tuned on the test split.

    Args:
        train_features (torch.Tensor): NxC frozen features to fit on.
        train_labels (torch.Tensor): N labels of the training features.
        test_features (torch.Tensor): MxC frozen features to score.
        test_labels (torch.Tensor): M labels of the test features.
        inverse_regularization (float): scikit-learn's ``C``, the inverse of
            the L2 penalty's strength. Defaults to 1.0.
        max_iter (int): Most L-BFGS iterations. Defaults to 1000.

    Returns:
        float: Top-1 accuracy on the test features, in percent.
    """
    # Imported here, not with the package: a training process never fits a
    # probe, and scikit-learn with SciPy keeps ~70 MiB resident.
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=inverse_regularization, max_iter=max_iter))
    probe.fit(train_features.double().numpy(), train_labels.numpy())
    return 100.0 * probe.score(test_features.double().numpy(),
                               test_labels.numpy())
