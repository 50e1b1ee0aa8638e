"""OrderTicket: manual market/limit orders, validated before sending, errors inline."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from cockpit import theme
from cockpit.commands import CommandFacade
from engine.api import OrderValidationError
from engine.model.enums import OrderType, Side


class OrderTicket(QWidget):
    """The order entry form."""

    sigOrderRequested = Signal(str, object, object, float, object)

    def __init__(self, facade: CommandFacade, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._facade = facade
        self.symbol: str = ""
        self._mid: float | None = None
        self.symbol_label = QLabel("—")
        self.symbol_label.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.buy = QRadioButton("Buy")
        self.sell = QRadioButton("Sell")
        self.buy.setChecked(True)
        sides = QButtonGroup(self)
        sides.addButton(self.buy)
        sides.addButton(self.sell)
        side_row = QHBoxLayout()
        side_row.addWidget(self.buy)
        side_row.addWidget(self.sell)
        self.order_type = QComboBox()
        self.order_type.addItems([OrderType.LIMIT.value, OrderType.MARKET.value])
        self.qty = QLineEdit()
        self.qty.setPlaceholderText("quantity")
        self.price = QLineEdit()
        self.price.setPlaceholderText("limit price")
        self.mid_button = QPushButton("Mid")
        self.mid_button.setToolTip("Fill in the current mid price")
        price_row = QHBoxLayout()
        price_row.addWidget(self.price, 1)
        price_row.addWidget(self.mid_button)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.ASK};")
        self.submit = QPushButton("Send order")
        self.submit.setMinimumHeight(32)
        form = QFormLayout()
        form.addRow("Symbol", self.symbol_label)
        form.addRow("Side", side_row)
        form.addRow("Type", self.order_type)
        form.addRow("Quantity", self.qty)
        form.addRow("Price", price_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.submit)
        layout.addStretch(1)
        self.order_type.currentTextChanged.connect(self._on_type_changed)
        self.mid_button.clicked.connect(self._fill_mid)
        self.submit.clicked.connect(self._on_submit)
        self.buy.toggled.connect(self._style_submit)
        self.qty.returnPressed.connect(self._on_submit)
        self.price.returnPressed.connect(self._on_submit)
        facade.sigTicketInvalid.connect(self._show_error)
        self._style_submit()

    def set_symbol(self, symbol: str) -> None:
        self.symbol = symbol
        self.symbol_label.setText(symbol)
        self.error.clear()

    def set_mid(self, mid: float | None) -> None:
        self._mid = mid

    def _on_type_changed(self, text: str) -> None:
        is_limit = text == OrderType.LIMIT.value
        self.price.setEnabled(is_limit)
        self.mid_button.setEnabled(is_limit)

    def _fill_mid(self) -> None:
        if self._mid is not None:
            tick = self._tick()
            price = round(self._mid / tick) * tick if tick else self._mid
            self.price.setText(f"{price:.8g}")

    def _tick(self) -> float | None:
        inst = self._facade.commands.instrument(self.symbol)
        return inst.tick_size if inst else None

    def _style_submit(self) -> None:
        colour = theme.BID if self.buy.isChecked() else theme.ASK
        self.submit.setText("Buy" if self.buy.isChecked() else "Sell")
        self.submit.setStyleSheet(f"background: {colour}; color: white; font-weight: bold;")

    def _show_error(self, field: str, message: str) -> None:
        self.error.setText(f"{field}: {message}")

    def _parse(self, text: str, field: str) -> float:
        try:
            return float(text.strip().replace(",", ""))
        except ValueError:
            raise OrderValidationError(field, f"{text!r} is not a number") from None

    def _on_submit(self) -> None:
        self.error.clear()
        side = Side.BUY if self.buy.isChecked() else Side.SELL
        order_type = OrderType(self.order_type.currentText())
        try:
            qty = self._parse(self.qty.text(), "qty")
            price = (
                self._parse(self.price.text(), "price") if order_type is OrderType.LIMIT else None
            )
            self._facade.commands.validate(self.symbol, side, order_type, qty, price)
        except OrderValidationError as exc:
            self._show_error(exc.field, exc.message)
            return
        self.sigOrderRequested.emit(self.symbol, side, order_type, qty, price)
        self._facade.submit_order(self.symbol, side, order_type, qty, price)
